"""Compile a landing-zone JSON Schema into DuckDB SQL.

The JSON Schema files in docs/schemas/landing are the contract. The same files drive
validation at load time, so the documentation cannot drift from what is enforced.
Only the keywords the contract uses are supported; an unsupported keyword fails loudly
rather than being silently ignored.

Every row arrives as one JSON text (`raw`). Validation parses it once with a
multi-path json_extract and then checks each property in a fixed order; the first
failure becomes the row's quarantine reason (a stable code) and detail (human text).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

SUPPORTED_PROPERTY_KEYWORDS = {
    "type", "enum", "format", "minimum", "maxLength", "minLength", "description",
    "contentMediaType", "properties", "additionalProperties", "x-duckdb-type", "examples",
}
# JSON type name -> json_type() results that satisfy it.
JSON_TYPES = {
    "string": ("VARCHAR",),
    "integer": ("BIGINT", "UBIGINT"),
    "number": ("BIGINT", "UBIGINT", "DOUBLE"),
    "boolean": ("BOOLEAN",),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
}
DUCKDB_TYPES = {
    "string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE",
    "boolean": "BOOLEAN", "object": "JSON", "array": "JSON",
}
# RFC 3339 date-time: an explicit offset is required (naive local times are ambiguous).
RFC3339 = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?"
           r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$")


def sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True)
class Field:
    name: str
    spec: dict
    required: bool

    @property
    def json_type(self) -> str:
        types = self.spec["type"]
        types = [types] if isinstance(types, str) else types
        real = [t for t in types if t != "null"]
        if len(real) != 1:
            raise ValueError(f"{self.name}: exactly one non-null type is supported, got {types}")
        return real[0]

    @property
    def is_timestamp(self) -> bool:
        return self.spec.get("format") == "date-time"

    @property
    def duckdb_type(self) -> str:
        if "x-duckdb-type" in self.spec:
            return self.spec["x-duckdb-type"]
        return "TIMESTAMPTZ" if self.is_timestamp else DUCKDB_TYPES[self.json_type]


class RecordSchema:
    """One landing-zone record schema, and the SQL that enforces it."""

    def __init__(self, schema: dict):
        if schema.get("type") != "object":
            raise ValueError("a landing-zone schema must describe an object")
        self.schema = schema
        required = set(schema.get("required", []))
        self.fields = []
        for name, spec in schema["properties"].items():
            unknown = set(spec) - SUPPORTED_PROPERTY_KEYWORDS
            if unknown:
                raise ValueError(f"{name}: unsupported schema keywords {sorted(unknown)}")
            self.fields.append(Field(name, spec, name in required))
        missing = required - {f.name for f in self.fields}
        if missing:
            raise ValueError(f"required fields without a property definition: {sorted(missing)}")

    @classmethod
    def load(cls, path: Path) -> "RecordSchema":
        return cls(json.loads(path.read_text()))

    @property
    def title(self) -> str:
        return self.schema.get("title", "")

    @cached_property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def extract_sql(self, raw: str = "raw") -> str:
        """One parse of the row: a list with the JSON text of each property (NULL if absent)."""
        paths = ", ".join(sql_str("$." + json.dumps(f.name)) for f in self.fields)
        return f"json_extract({raw}, [{paths}])"

    def _value(self, i: int) -> str:
        return f"v_{i + 1}"

    def _type(self, i: int) -> str:
        return f"t_{i + 1}"

    def _checks(self, field: Field, i: int, max_future: str) -> list[tuple[str, str, str]]:
        """(failure condition, reason code, detail SQL) in the order they are checked."""
        v, t = self._value(i), self._type(i)
        present = f"({t} IS NOT NULL AND {t} <> 'NULL')"
        text = f"json_extract_string({v}, '$')"
        name = field.name
        checks = []
        if field.required:
            checks.append((f"NOT {present}", "missing_required_field", sql_str(f"{name} is required")))
        allowed = ", ".join(sql_str(t) for t in JSON_TYPES[field.json_type])
        checks.append((
            f"{present} AND {t} NOT IN ({allowed})",
            "wrong_type",
            f"{sql_str(name + ': expected ' + field.json_type + ', got ')} || lower({t})",
        ))
        if field.json_type in ("integer", "number") or field.duckdb_type not in ("VARCHAR", "JSON", "TIMESTAMPTZ"):
            # JSON allows what the column cannot hold: 2^64 in a BIGINT, 1e15 in DECIMAL(12,2), NaN.
            checks.append((
                f"{present} AND (TRY_CAST({text} AS {field.duckdb_type}) IS NULL"
                + (f" OR NOT isfinite(TRY_CAST({text} AS DOUBLE))" if field.json_type == "number" else "") + ")",
                "out_of_range", f"{sql_str(name + ' does not fit ' + field.duckdb_type + ': ')} || left({text}, 100)",
            ))
        if "enum" in field.spec:
            values = ", ".join(sql_str(e) for e in field.spec["enum"])
            checks.append((f"{present} AND {text} NOT IN ({values})", f"unknown_{name}",
                           f"{sql_str(name + ' not in the contract: ')} || left({text}, 200)"))
        if "minLength" in field.spec:
            checks.append((f"{present} AND length({text}) < {int(field.spec['minLength'])}", "out_of_range",
                           sql_str(f"{name} shorter than {field.spec['minLength']}")))
        if "maxLength" in field.spec:
            checks.append((f"{present} AND strlen({text}) > {int(field.spec['maxLength'])}", "out_of_range",
                           sql_str(f"{name} longer than {field.spec['maxLength']} bytes")))
        if "minimum" in field.spec:
            checks.append((f"{present} AND TRY_CAST({text} AS DOUBLE) < {float(field.spec['minimum'])}",
                           "out_of_range", sql_str(f"{name} below {field.spec['minimum']}")))
        if field.is_timestamp:
            checks.append((
                f"{present} AND (NOT regexp_matches({text}, {sql_str(RFC3339)}) OR TRY_CAST({text} AS TIMESTAMPTZ) IS NULL)",
                "unparseable_timestamp",
                f"{sql_str(name + ' is not RFC 3339 with an offset: ')} || left({text}, 100)",
            ))
            checks.append((f"{present} AND TRY_CAST({text} AS TIMESTAMPTZ) > {max_future}",
                           "timestamp_in_future", f"{sql_str(name + ' is in the future: ')} || {text}"))
        nested = field.spec.get("properties")
        if nested:
            # One level of typed sub-properties (e.g. identifiers): one extra parse per row.
            sub_paths = ", ".join(sql_str("$." + json.dumps(k)) for k in nested)
            sub_types = {k: s["type"] for k, s in nested.items()}
            if any(Field(k, s, False).json_type != "string" for k, s in nested.items()):
                raise ValueError(f"{name}: only string sub-properties are supported, got {sub_types}")
            unsupported = {kw for s in nested.values() for kw in s} - {"type", "description"}
            if unsupported:
                raise ValueError(f"{name}: sub-properties support only type and description, got {sorted(unsupported)}")
            bad = f"list_filter(json_extract({v}, [{sub_paths}]), lambda x: x IS NOT NULL AND json_type(x) NOT IN ('VARCHAR', 'NULL'))"
            checks.append((f"{present} AND {t} = 'OBJECT' AND len({bad}) > 0", "wrong_type",
                           sql_str(f"{name}: every value must be a string")))
        if field.spec.get("contentMediaType") == "application/json":
            checks.append((f"{present} AND NOT json_valid({text})", "malformed_json",
                           sql_str(f"{name} does not hold valid JSON")))
        return checks

    def validate_sql(self, rows: str, max_line_bytes: int, max_future: str) -> str:
        """SELECT position, raw, reason, detail, <typed columns> FROM rows.

        `rows` is a relation with (position BIGINT, raw VARCHAR). Rows with a reason are
        quarantined; typed columns are only meaningful where reason IS NULL. Each step is
        a materialized CTE so that the parse and the checks run once per row.
        """
        row_checks = [
            (f"strlen(raw) > {int(max_line_bytes)}", "row_too_large",
             f"'row of ' || strlen(raw) || ' bytes exceeds {int(max_line_bytes)}'"),
            ("v IS NULL AND NOT json_valid(raw)", "malformed_json", "'not valid JSON'"),
            ("v IS NULL", "not_an_object", "'expected a JSON object, got ' || lower(json_type(raw))"),
        ]
        field_checks = [c for i, f in enumerate(self.fields) for c in self._checks(f, i, max_future)]
        checks = row_checks + field_checks
        # The first failing check's number; the field checks only run on parsed objects.
        failed = "CASE " + " ".join(f"WHEN {c} THEN {n}" for n, (c, _, _) in enumerate(checks, start=1)) + " END"
        codes = "[" + ", ".join(sql_str(code) for _, code, _ in checks) + "]"
        detail = "CASE failed " + " ".join(f"WHEN {n} THEN {d}" for n, (_, _, d) in enumerate(checks, start=1)) + " END"
        typed = ",\n  ".join(f"{self.cast_sql(f, i)} AS {json.dumps(f.name)}" for i, f in enumerate(self.fields))
        # One column per property value and its JSON type: plain columns are far cheaper to
        # test repeatedly than list elements.
        unpacked = ", ".join(f"v[{i + 1}] AS v_{i + 1}, json_type(v[{i + 1}]) AS t_{i + 1}" for i in range(len(self.fields)))
        return f"""
WITH parsed AS MATERIALIZED (
  SELECT position, raw,
    -- Valid JSON text that starts with a brace is an object: no third parse for json_type.
    CASE WHEN strlen(raw) <= {int(max_line_bytes)} AND json_valid(raw) AND starts_with(ltrim(raw, ' \t\r\n'), '{{')
         THEN {self.extract_sql()} END AS v
  FROM {rows}
), typed AS MATERIALIZED (
  SELECT position, raw, v, {unpacked} FROM parsed
), checked AS MATERIALIZED (
  SELECT *, {failed} AS failed FROM typed
)
SELECT position, raw, {codes}[failed] AS reason, {detail} AS detail,
  {typed}
FROM checked"""

    def cast_sql(self, field: Field, i: int) -> str:
        v = self._value(i)
        valid = f"failed IS NULL AND {self._type(i)} <> 'NULL'"
        if field.json_type in ("object", "array"):
            value = f"CAST({v} AS JSON)"
        else:
            value = f"CAST(json_extract_string({v}, '$') AS {field.duckdb_type})"
        return f"CASE WHEN {valid} THEN {value} END"

    def columns_ddl(self) -> str:
        return ",\n  ".join(f"{json.dumps(f.name)} {f.duckdb_type}" for f in self.fields)
