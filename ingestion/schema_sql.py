"""Compile a landing-zone JSON Schema into the validation SQL of either engine (DuckDB or Spark).

The JSON Schema files in docs/schemas/landing are the contract. The same files drive
validation at load time, so the documentation cannot drift from what is enforced.
Only the keywords the contract uses are supported; an unsupported keyword fails loudly
rather than being silently ignored.

Every row arrives as one JSON text (`raw`). Validation parses it once and then checks each
property in a fixed order; the first failure becomes the row's quarantine reason (a stable
code) and detail (human text). The rules (which checks, in which order, with which reason and
detail) are written once in RecordSchema; a Dialect only renders the few primitives the two
engines spell differently (parsing, JSON types, byte lengths, literals).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path

SUPPORTED_PROPERTY_KEYWORDS = {
    "type", "enum", "format", "minimum", "maxLength", "minLength", "description",
    "contentMediaType", "properties", "additionalProperties", "x-duckdb-type", "examples",
}
# JSON type name -> json_type() results that satisfy it (DuckDB's names; the Spark dialect produces the same).
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
UBIGINT_MAX = 18446744073709551615


def sql_str(value: str) -> str:
    """A DuckDB string literal."""
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

    @property
    def is_cast(self) -> bool:
        """Whether the column's type needs a cast that can fail (numbers, booleans, timestamps, decimals)."""
        return self.json_type in ("integer", "number") or self.duckdb_type not in ("VARCHAR", "JSON")


class Dialect:
    """The SQL primitives the validation rules are written in. Column names per property i (1-based):
    v_i its JSON value, t_i its JSON type (DuckDB's json_type() names), s_i its string value, c_i its typed
    value; `v` is the parsed row, NULL unless the row is a JSON object within the size limit."""

    name: str

    def lit(self, value: str) -> str:
        raise NotImplementedError

    def ident(self, name: str) -> str:
        raise NotImplementedError

    def column_type(self, field: Field) -> str:
        raise NotImplementedError

    def byte_length(self, text: str) -> str:
        raise NotImplementedError

    def json_valid(self, text: str) -> str:
        raise NotImplementedError

    def row_json_type(self) -> str:
        """json_type() of the whole row `raw`, for a row that is valid JSON."""
        raise NotImplementedError

    def regexp_matches(self, text: str, pattern: str) -> str:
        raise NotImplementedError

    def not_finite(self, number: str) -> str:
        raise NotImplementedError

    def timestamp(self, value: datetime) -> str:
        raise NotImplementedError

    def pick(self, items: list[str], index: str) -> str:
        """items[index], 1-based."""
        raise NotImplementedError

    def non_string_member(self, i: int, keys: list[str]) -> str:
        """Whether property i (an object) has a member among `keys` that is neither a string nor null."""
        raise NotImplementedError

    def parse(self, schema: "RecordSchema", rows: str, max_line_bytes: int) -> str:
        """SELECT *, v, v_i, t_i, s_i FROM rows."""
        raise NotImplementedError

    def json_column(self, i: int, field: Field) -> str:
        """The stored JSON text of an object or array property."""
        raise NotImplementedError

    def row_hash(self, columns: list[str]) -> str:
        """A 64-bit hash of a row's values, equal exactly for equal values (NULLs included, in place)."""
        raise NotImplementedError

    def except_columns(self, internal: list[str]) -> str:
        raise NotImplementedError

    def internal_columns(self, schema: "RecordSchema") -> list[str]:
        fields = range(len(schema.fields))
        return (["v", "failed"] + [f"{kind}_{i + 1}" for i in fields for kind in "vts"]
                + [schema.cast_name(i) for i, f in enumerate(schema.fields) if f.is_cast])


class DuckDBDialect(Dialect):
    name = "duckdb"

    def lit(self, value: str) -> str:
        return sql_str(value)

    def ident(self, name: str) -> str:
        return json.dumps(name)

    def column_type(self, field: Field) -> str:
        return field.duckdb_type

    def byte_length(self, text: str) -> str:
        return f"strlen({text})"

    def json_valid(self, text: str) -> str:
        return f"json_valid({text})"

    def row_json_type(self) -> str:
        return "json_type(raw)"

    def regexp_matches(self, text: str, pattern: str) -> str:
        return f"regexp_matches({text}, {self.lit(pattern)})"

    def not_finite(self, number: str) -> str:
        return f"NOT isfinite({number})"

    def timestamp(self, value: datetime) -> str:
        return f"TIMESTAMPTZ '{value.isoformat()}'"

    def pick(self, items: list[str], index: str) -> str:
        return "[" + ", ".join(items) + f"][{index}]"

    def non_string_member(self, i: int, keys: list[str]) -> str:
        # The members' texts are normalized JSON, so a string starts with a quote; null is its own text (DuckDB
        # also reads nan, which starts with n too). The object's own text is normalized (no blanks): any other
        # member's value follows a colon with something other than a quote or "nu", so only an object with such
        # a colon (a string may hold one) is parsed again to look.
        paths = ", ".join(self.lit("$." + json.dumps(k)) for k in keys)
        return (f"(regexp_matches(v_{i}, ':([^\"n]|n[^u])') AND len(list_filter(json_extract(v_{i}, [{paths}]), "
                f"lambda x: ascii(x) <> 34 AND x <> 'null')) > 0)")

    def json_column(self, i: int, field: Field) -> str:
        return f"CAST(v_{i} AS JSON)"

    def row_hash(self, columns: list[str]) -> str:
        return f"hash({', '.join(columns)})"

    def except_columns(self, internal: list[str]) -> str:
        return f"* EXCLUDE ({', '.join(internal)})"

    def parse(self, schema: "RecordSchema", rows: str, max_line_bytes: int) -> str:
        fields = range(len(schema.fields))
        values = ", ".join(f"v[{i + 1}] AS v_{i + 1}" for i in fields)
        kinds = ", ".join(f"{self._kind_sql(i + 1)} AS t_{i + 1}" for i in fields)
        texts = ", ".join(f"{self._string_sql(i + 1)} AS s_{i + 1}" for i in fields)
        paths = ", ".join(self.lit("$." + json.dumps(f.name)) for f in schema.fields)
        return f"""SELECT *, {texts} FROM (
        SELECT *, {kinds} FROM (
          SELECT *, {values} FROM (
            -- The one parse of the row. Valid JSON text whose first character (after blanks) is a brace is
            -- an object; only a line that starts with a blank is trimmed (a copy of the row) to see it.
            SELECT *, CASE WHEN strlen(raw) <= {int(max_line_bytes)} AND json_valid(raw) AND CASE ascii(raw)
                  WHEN 123 THEN true WHEN 32 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{')
                  WHEN 9 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{') WHEN 13 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{')
                  WHEN 10 THEN starts_with(ltrim(raw, ' \t\r\n'), '{{') ELSE false END
                THEN CAST(json_extract(raw, [{paths}]) AS VARCHAR[]) END AS v
            FROM {rows})))"""

    @staticmethod
    def _kind_sql(i: int) -> str:
        """json_type() of the property's JSON text, read from its first character.

        The text comes from json_extract, so it is normalized (numbers as yyjson writes them): a string,
        object, array or boolean starts with its own character, null is its own text, and a number is an
        integer (BIGINT, or UBIGINT above 2^63 - 1) when it has no fraction or exponent and fits 64 bits, else a
        DOUBLE (DuckDB reads NaN, nan and Infinity as numbers). Much cheaper than parsing every value again."""
        v = f"v_{i}"
        number = (f"CASE WHEN contains({v}, '.') OR contains({v}, 'e') OR contains({v}, 'E') THEN 'DOUBLE' "
                  f"WHEN TRY_CAST({v} AS BIGINT) IS NOT NULL THEN 'BIGINT' "
                  f"WHEN TRY_CAST({v} AS UBIGINT) IS NOT NULL THEN 'UBIGINT' ELSE 'DOUBLE' END")
        return (f"CASE ascii({v}) WHEN 34 THEN 'VARCHAR' WHEN 123 THEN 'OBJECT' WHEN 91 THEN 'ARRAY' "
                f"WHEN 116 THEN 'BOOLEAN' WHEN 102 THEN 'BOOLEAN' WHEN 110 THEN CASE {v} WHEN 'null' THEN 'NULL' ELSE 'DOUBLE' END "
                f"ELSE CASE WHEN {v} IS NOT NULL THEN {number} END END")

    @staticmethod
    def _string_sql(i: int) -> str:
        """The string value of a scalar property (NULL for objects, arrays and null), from its JSON text.

        A string without a backslash is its text between the quotes (no escaped quote inside it either);
        only one with an escape is decoded by a JSON parse of its own. A number or boolean is its text.
        substr by character count: several times cheaper than trim(v, '"'), which compares every character."""
        v, t = f"v_{i}", f"t_{i}"
        return (f"CASE {t} WHEN 'VARCHAR' THEN CASE WHEN contains({v}, '\\') THEN json_extract_string({v}, '$') "
                f"ELSE substr({v}, 2, length({v}) - 2) END WHEN 'OBJECT' THEN NULL WHEN 'ARRAY' THEN NULL WHEN 'NULL' THEN NULL ELSE {v} END")


SPARK_TYPES = {"VARCHAR": "STRING", "JSON": "STRING", "TIMESTAMPTZ": "TIMESTAMP"}


class SparkDialect(Dialect):
    """Spark SQL (4.x): rows are parsed into VARIANT once; a property's JSON type is read from
    schema_of_variant and mapped onto DuckDB's json_type() names, so the rules stay the same."""

    name = "spark"

    def lit(self, value: str) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def column_type(self, field: Field) -> str:
        return SPARK_TYPES.get(field.duckdb_type, field.duckdb_type)

    def byte_length(self, text: str) -> str:
        return f"octet_length({text})"

    def json_valid(self, text: str) -> str:
        return f"(try_parse_json({text}) IS NOT NULL)"

    def regexp_matches(self, text: str, pattern: str) -> str:
        # Java's $ also matches before a final line break; \z is the end of the text, as $ is in DuckDB (RE2).
        return f"regexp_like({text}, {self.lit(pattern.removesuffix('$') + chr(92) + 'z')})"

    def not_finite(self, number: str) -> str:
        return f"(isnan({number}) OR abs({number}) = CAST('Infinity' AS DOUBLE))"

    def timestamp(self, value: datetime) -> str:
        return f"TIMESTAMP '{value.isoformat()}'"

    def pick(self, items: list[str], index: str) -> str:
        return f"element_at(array({', '.join(items)}), {index})"

    def _path(self, name: str) -> str:
        return self.lit("$['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']")

    def non_string_member(self, i: int, keys: list[str]) -> str:
        members = ", ".join(f"schema_of_variant(variant_get(v_{i}, {self._path(k)}))" for k in keys)
        return f"exists(array({members}), x -> coalesce(x, 'VOID') NOT IN ('STRING', 'VOID'))"

    def json_column(self, i: int, field: Field) -> str:
        # The property's own text (its keys in their order), not the VARIANT's rendering (keys sorted).
        return f"get_json_object(raw, {self._path(field.name)})"

    def except_columns(self, internal: list[str]) -> str:
        return f"* EXCEPT ({', '.join(internal)})"

    def row_hash(self, columns: list[str]) -> str:
        # xxhash64 skips NULL arguments, so (NULL, 'x') would hash as ('x', NULL): hash the named values instead.
        named = ", ".join(f"{self.lit(c.strip('`'))}, {c}" for c in columns)
        return f"xxhash64(to_json(named_struct({named})))"

    def _kind_sql(self, value: str, kind: str, token: str) -> str:
        """DuckDB's json_type() name of a VARIANT `value` whose schema_of_variant is `kind`. Spark keeps integers
        within 64 bits as BIGINT and other numbers as DECIMAL or DOUBLE (5.0 as DECIMAL(1,0)); only the number's
        own text (`token`) tells an integer above 2^63 - 1 (DuckDB's UBIGINT) from a fraction."""
        unsigned = (f"{kind} LIKE 'DECIMAL(%,0)' AND NOT regexp_like({token}, '[.eE]') "
                    f"AND TRY_CAST({token} AS DECIMAL(20,0)) BETWEEN 0 AND {UBIGINT_MAX}")
        return (f"CASE WHEN {value} IS NULL THEN NULL WHEN {kind} = 'STRING' THEN 'VARCHAR' "
                f"WHEN {kind} IN ('BIGINT', 'BOOLEAN') THEN {kind} WHEN {kind} = 'VOID' THEN 'NULL' "
                f"WHEN {kind} LIKE 'OBJECT%' THEN 'OBJECT' WHEN {kind} LIKE 'ARRAY%' THEN 'ARRAY' "
                f"WHEN {unsigned} THEN 'UBIGINT' ELSE 'DOUBLE' END")

    def row_json_type(self) -> str:
        return self._kind_sql("try_parse_json(raw)", "schema_of_variant(try_parse_json(raw))", "raw")

    def internal_columns(self, schema: "RecordSchema") -> list[str]:
        return super().internal_columns(schema) + [f"k_{i + 1}" for i in range(len(schema.fields))]

    def parse(self, schema: "RecordSchema", rows: str, max_line_bytes: int) -> str:
        fields = list(enumerate(schema.fields, start=1))
        values = ", ".join(f"variant_get(v, {self._path(f.name)}) AS v_{i}" for i, f in fields)
        schemas = ", ".join(f"schema_of_variant(v_{i}) AS k_{i}" for i, f in fields)
        kinds = ", ".join(f"{self._kind_sql(f'v_{i}', f'k_{i}', f'get_json_object(raw, {self._path(f.name)})')} AS t_{i}"
                          for i, f in fields)
        texts = ", ".join(f"CASE t_{i} WHEN 'VARCHAR' THEN variant_get(v_{i}, '$', 'string') WHEN 'OBJECT' THEN NULL "
                          f"WHEN 'ARRAY' THEN NULL WHEN 'NULL' THEN NULL ELSE CAST(v_{i} AS STRING) END AS s_{i}"
                          for i, f in fields)
        return f"""SELECT *, {texts} FROM (
        SELECT *, {kinds} FROM (
          SELECT *, {schemas} FROM (
            SELECT *, {values} FROM (
              -- The one parse of the row; an object is valid JSON whose first character after blanks is a brace.
              SELECT *, CASE WHEN octet_length(raw) <= {int(max_line_bytes)}
                    AND startswith(TRIM(LEADING {self.lit(' ' + chr(9) + chr(13) + chr(10))} FROM raw), '{{')
                  THEN try_parse_json(raw) END AS v
              FROM {rows}))))"""


DUCKDB = DuckDBDialect()
SPARK = SparkDialect()


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

    @staticmethod
    def cast_name(i: int) -> str:
        return f"c_{i + 1}"

    def _checks(self, field: Field, i: int, max_future: datetime, d: Dialect) -> list[tuple[str, str, str]]:
        """(failure condition, reason code, detail SQL) in the order they are checked.

        Each property is parsed once: its JSON value v, JSON type t, string value s and typed value c
        (TRY_CAST of s) are columns every check shares."""
        n = i + 1
        v, t, text, cast = f"v_{n}", f"t_{n}", f"s_{n}", self.cast_name(i)
        present = f"({t} IS NOT NULL AND {t} <> 'NULL')"
        name = field.name
        lit = d.lit
        checks = []
        if field.required:
            checks.append((f"NOT {present}", "missing_required_field", lit(f"{name} is required")))
        allowed = ", ".join(lit(t) for t in JSON_TYPES[field.json_type])
        checks.append((
            f"{present} AND {t} NOT IN ({allowed})",
            "wrong_type",
            f"{lit(name + ': expected ' + field.json_type + ', got ')} || lower({t})",
        ))
        if field.is_cast and not field.is_timestamp:  # timestamps have their own checks below
            # JSON allows what the column cannot hold: 2^64 in a BIGINT, 1e15 in DECIMAL(12,2), NaN.
            checks.append((
                f"{present} AND ({cast} IS NULL"
                + (f" OR {d.not_finite(f'CAST({cast} AS DOUBLE)')}" if field.json_type == "number" else "") + ")",
                "out_of_range", f"{lit(name + ' does not fit ' + field.duckdb_type + ': ')} || left({text}, 100)",
            ))
        if "enum" in field.spec:
            values = ", ".join(lit(e) for e in field.spec["enum"])
            checks.append((f"{present} AND {text} NOT IN ({values})", f"unknown_{name}",
                           f"{lit(name + ' not in the contract: ')} || left({text}, 200)"))
        if "minLength" in field.spec:
            checks.append((f"{present} AND length({text}) < {int(field.spec['minLength'])}", "out_of_range",
                           lit(f"{name} shorter than {field.spec['minLength']}")))
        if "maxLength" in field.spec:
            checks.append((f"{present} AND {d.byte_length(text)} > {int(field.spec['maxLength'])}", "out_of_range",
                           lit(f"{name} longer than {field.spec['maxLength']} bytes")))
        if "minimum" in field.spec:
            checks.append((f"{present} AND CAST({cast} AS DOUBLE) < {float(field.spec['minimum'])}",
                           "out_of_range", lit(f"{name} below {field.spec['minimum']}")))
        if field.is_timestamp:
            checks.append((
                f"{present} AND (NOT {d.regexp_matches(text, RFC3339)} OR {cast} IS NULL)",
                "unparseable_timestamp",
                f"{lit(name + ' is not RFC 3339 with an offset: ')} || left({text}, 100)",
            ))
            checks.append((f"{present} AND {cast} > {d.timestamp(max_future)}",
                           "timestamp_in_future", f"{lit(name + ' is in the future: ')} || {text}"))
        nested = field.spec.get("properties")
        if nested:
            # One level of typed sub-properties (e.g. identifiers): one extra parse per row.
            sub_types = {k: s["type"] for k, s in nested.items()}
            if any(Field(k, s, False).json_type != "string" for k, s in nested.items()):
                raise ValueError(f"{name}: only string sub-properties are supported, got {sub_types}")
            unsupported = {kw for s in nested.values() for kw in s} - {"type", "description"}
            if unsupported:
                raise ValueError(f"{name}: sub-properties support only type and description, got {sorted(unsupported)}")
            checks.append((f"{present} AND {t} = 'OBJECT' AND {d.non_string_member(n, list(nested))}", "wrong_type",
                           lit(f"{name}: every value must be a string")))
        if field.spec.get("contentMediaType") == "application/json":
            checks.append((f"{present} AND NOT {d.json_valid(text)}", "malformed_json",
                           lit(f"{name} does not hold valid JSON")))
        return checks

    def validate_sql(self, rows: str, max_line_bytes: int, max_future: datetime, dialect: Dialect = DUCKDB) -> str:
        """SELECT <every column of rows>, reason, detail, <typed columns> FROM rows.

        `rows` is a relation with (position BIGINT, raw VARCHAR) and any other columns, which are
        passed through. Rows with a reason are quarantined; typed columns are only meaningful where
        reason IS NULL. Each row is parsed once; the checks then work on plain text columns.
        """
        d = dialect
        row_checks = [
            (f"{d.byte_length('raw')} > {int(max_line_bytes)}", "row_too_large",
             f"'row of ' || {d.byte_length('raw')} || ' bytes exceeds {int(max_line_bytes)}'"),
            (f"v IS NULL AND NOT {d.json_valid('raw')}", "malformed_json", "'not valid JSON'"),
            ("v IS NULL", "not_an_object", f"'expected a JSON object, got ' || lower({d.row_json_type()})"),
        ]
        field_checks = [c for i, f in enumerate(self.fields) for c in self._checks(f, i, max_future, d)]
        checks = row_checks + field_checks
        # The first failing check's number; the field checks only run on parsed objects.
        failed = "CASE " + " ".join(f"WHEN {c} THEN {n}" for n, (c, _, _) in enumerate(checks, start=1)) + " END"
        codes = d.pick([d.lit(code) for _, code, _ in checks], "failed")
        detail = "CASE failed " + " ".join(f"WHEN {n} THEN {det}" for n, (_, _, det) in enumerate(checks, start=1)) + " END"
        typed = ",\n  ".join(f"{self.cast_sql(f, i, d)} AS {d.ident(f.name)}" for i, f in enumerate(self.fields))
        # A contract without typed casts (the exports') adds none: Spark refuses the trailing comma DuckDB allows.
        casts = "".join(f", TRY_CAST(s_{i + 1} AS {d.column_type(f)}) AS {self.cast_name(i)}"
                        for i, f in enumerate(self.fields) if f.is_cast)
        # Only the first failing check's reason and detail are built, and only for failing rows.
        return f"""
WITH checked AS (
  SELECT *, {failed} AS failed FROM (
    SELECT *{casts} FROM (
      {d.parse(self, rows, max_line_bytes)}))
)
SELECT {d.except_columns(d.internal_columns(self))}, CASE WHEN failed IS NOT NULL THEN {codes} END AS reason,
  CASE WHEN failed IS NOT NULL THEN {detail} END AS detail,
  {typed}
FROM checked"""

    def cast_sql(self, field: Field, i: int, dialect: Dialect = DUCKDB) -> str:
        valid = f"failed IS NULL AND t_{i + 1} <> 'NULL'"
        if field.json_type in ("object", "array"):
            value = dialect.json_column(i + 1, field)
        elif field.is_cast:
            value = self.cast_name(i)
        else:
            value = f"CAST(s_{i + 1} AS {dialect.column_type(field)})"
        return f"CASE WHEN {valid} THEN {value} END"

    def columns_ddl(self, dialect: Dialect = DUCKDB) -> str:
        return ",\n  ".join(f"{dialect.ident(f.name)} {dialect.column_type(f)}" for f in self.fields)
