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

    def extract_sql(self, raw: str = "raw", function: str = "json_extract") -> str:
        """One parse of the row: a list with the JSON text (or with json_extract_string, the string value)
        of each property, NULL where absent."""
        paths = ", ".join(sql_str("$." + json.dumps(f.name)) for f in self.fields)
        return f"{function}({raw}, [{paths}])"

    def _value(self, i: int) -> str:
        return f"v_{i + 1}"

    def _type(self, i: int) -> str:
        return f"t_{i + 1}"

    def _text(self, i: int) -> str:
        return f"s_{i + 1}"

    def _cast(self, i: int) -> str:
        return f"c_{i + 1}"

    def _checks(self, field: Field, i: int, max_future: str) -> list[tuple[str, str, str]]:
        """(failure condition, reason code, detail SQL) in the order they are checked.

        Each property is parsed once: its JSON text v, JSON type t, string value s and typed value c
        (TRY_CAST of s) are columns every check shares."""
        v, t, text, cast = self._value(i), self._type(i), self._text(i), self._cast(i)
        present = f"({t} IS NOT NULL AND {t} <> 'NULL')"
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
        if self._is_cast(field) and not field.is_timestamp:  # timestamps have their own checks below
            # JSON allows what the column cannot hold: 2^64 in a BIGINT, 1e15 in DECIMAL(12,2), NaN.
            checks.append((
                f"{present} AND ({cast} IS NULL"
                + (f" OR NOT isfinite(CAST({cast} AS DOUBLE))" if field.json_type == "number" else "") + ")",
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
            checks.append((f"{present} AND CAST({cast} AS DOUBLE) < {float(field.spec['minimum'])}",
                           "out_of_range", sql_str(f"{name} below {field.spec['minimum']}")))
        if field.is_timestamp:
            checks.append((
                f"{present} AND (NOT regexp_matches({text}, {sql_str(RFC3339)}) OR {cast} IS NULL)",
                "unparseable_timestamp",
                f"{sql_str(name + ' is not RFC 3339 with an offset: ')} || left({text}, 100)",
            ))
            checks.append((f"{present} AND {cast} > {max_future}",
                           "timestamp_in_future", f"{sql_str(name + ' is in the future: ')} || {text}"))
        nested = field.spec.get("properties")
        if nested:
            # One level of typed sub-properties (e.g. identifiers): one extra parse per row. Their texts
            # are normalized JSON, so a string starts with a quote and null with n.
            sub_paths = ", ".join(sql_str("$." + json.dumps(k)) for k in nested)
            sub_types = {k: s["type"] for k, s in nested.items()}
            if any(Field(k, s, False).json_type != "string" for k, s in nested.items()):
                raise ValueError(f"{name}: only string sub-properties are supported, got {sub_types}")
            unsupported = {kw for s in nested.values() for kw in s} - {"type", "description"}
            if unsupported:
                raise ValueError(f"{name}: sub-properties support only type and description, got {sorted(unsupported)}")
            bad = f"list_filter(json_extract({v}, [{sub_paths}]), lambda x: ascii(x) NOT IN (34, 110))"
            checks.append((f"{present} AND {t} = 'OBJECT' AND len({bad}) > 0", "wrong_type",
                           sql_str(f"{name}: every value must be a string")))
        if field.spec.get("contentMediaType") == "application/json":
            checks.append((f"{present} AND NOT json_valid({text})", "malformed_json",
                           sql_str(f"{name} does not hold valid JSON")))
        return checks

    @staticmethod
    def _is_cast(field: Field) -> bool:
        """Whether the column's type needs a cast that can fail (numbers, booleans, timestamps, decimals)."""
        return field.json_type in ("integer", "number") or field.duckdb_type not in ("VARCHAR", "JSON")

    def _kind_sql(self, i: int) -> str:
        """json_type() of the property's JSON text, read from its first character.

        The text comes from json_extract, so it is normalized (numbers as yyjson writes them): a string,
        object, array, boolean or null starts with its own character, and a number is an integer (BIGINT,
        or UBIGINT above 2^63 - 1) when it has no fraction or exponent and fits 64 bits, else a DOUBLE.
        Much cheaper than parsing every value again."""
        v = self._value(i)
        number = (f"CASE WHEN contains({v}, '.') OR contains({v}, 'e') OR contains({v}, 'E') THEN 'DOUBLE' "
                  f"WHEN TRY_CAST({v} AS HUGEINT) BETWEEN -9223372036854775808 AND 9223372036854775807 THEN 'BIGINT' "
                  f"WHEN TRY_CAST({v} AS HUGEINT) BETWEEN 0 AND 18446744073709551615 THEN 'UBIGINT' ELSE 'DOUBLE' END")
        return (f"CASE ascii({v}) WHEN 34 THEN 'VARCHAR' WHEN 123 THEN 'OBJECT' WHEN 91 THEN 'ARRAY' "
                f"WHEN 116 THEN 'BOOLEAN' WHEN 102 THEN 'BOOLEAN' WHEN 110 THEN 'NULL' "
                f"ELSE CASE WHEN {v} IS NOT NULL THEN {number} END END")

    def _string_sql(self, i: int) -> str:
        """The string value of a scalar property (NULL for objects, arrays and null), from its JSON text.

        A string without a backslash is its text between the quotes (no escaped quote inside it either);
        only one with an escape is decoded by a JSON parse of its own. A number or boolean is its text."""
        v, t = self._value(i), self._type(i)
        return (f"CASE {t} WHEN 'VARCHAR' THEN CASE WHEN contains({v}, '\\') THEN json_extract_string({v}, '$') "
                f"ELSE trim({v}, '\"') END WHEN 'OBJECT' THEN NULL WHEN 'ARRAY' THEN NULL WHEN 'NULL' THEN NULL ELSE {v} END")

    def validate_sql(self, rows: str, max_line_bytes: int, max_future: str) -> str:
        """SELECT <every column of rows>, reason, detail, <typed columns> FROM rows.

        `rows` is a relation with (position BIGINT, raw VARCHAR) and any other columns, which are
        passed through. Rows with a reason are quarantined; typed columns are only meaningful where
        reason IS NULL. Each row is parsed once; the checks then work on plain text columns.
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
        fields = range(len(self.fields))
        values = ", ".join(f"v[{i + 1}] AS {self._value(i)}" for i in fields)
        kinds = ", ".join(f"{self._kind_sql(i)} AS {self._type(i)}" for i in fields)
        texts = ", ".join(f"{self._string_sql(i)} AS {self._text(i)}" for i in fields)
        casts = ", ".join(f"TRY_CAST({self._text(i)} AS {f.duckdb_type}) AS {self._cast(i)}"
                          for i, f in enumerate(self.fields) if self._is_cast(f))
        internal = ", ".join(["v", "failed"] + [f"{kind}_{i + 1}" for i in fields for kind in "vts"]
                             + [self._cast(i) for i, f in enumerate(self.fields) if self._is_cast(f)])
        # Only the first failing check's reason and detail are built, and only for failing rows.
        return f"""
WITH checked AS MATERIALIZED (
  SELECT *, {failed} AS failed FROM (
    SELECT *, {casts} FROM (
      SELECT *, {texts} FROM (
        SELECT *, {kinds} FROM (
          SELECT *, {values} FROM (
            -- The one parse of the row. Valid JSON text whose first character (after blanks) is a brace is
            -- an object; only a line that starts with a blank is trimmed (a copy of the row) to see it.
            SELECT *, CASE WHEN strlen(raw) <= {int(max_line_bytes)} AND json_valid(raw) AND CASE ascii(raw)
                  WHEN 123 THEN true WHEN 32 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{')
                  WHEN 9 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{') WHEN 13 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{')
                  WHEN 10 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{') ELSE false END
                THEN CAST({self.extract_sql()} AS VARCHAR[]) END AS v
            FROM {rows})))))
)
SELECT * EXCLUDE ({internal}), CASE WHEN failed IS NOT NULL THEN {codes}[failed] END AS reason,
  CASE WHEN failed IS NOT NULL THEN {detail} END AS detail,
  {typed}
FROM checked"""

    def cast_sql(self, field: Field, i: int) -> str:
        valid = f"failed IS NULL AND {self._type(i)} <> 'NULL'"
        if field.json_type in ("object", "array"):
            value = f"CAST({self._value(i)} AS JSON)"
        elif self._is_cast(field):
            value = self._cast(i)
        else:
            value = f"CAST({self._text(i)} AS {field.duckdb_type})"
        return f"CASE WHEN {valid} THEN {value} END"

    def columns_ddl(self) -> str:
        return ",\n  ".join(f"{json.dumps(f.name)} {f.duckdb_type}" for f in self.fields)
