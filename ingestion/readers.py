"""Reading one landing file into rows of JSON text.

Every format becomes the same thing: (position, raw JSON text) rows for the schema
validator, plus rows the reader itself had to reject (bad bytes, ragged CSV lines).
Positions are 1-based line numbers (NDJSON, CSV) or row numbers (Parquet).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from dataclasses import dataclass, field

import duckdb
import orjson
import pyarrow as pa

from ingestion.landing_files import LandingFile
from ingestion.schema_sql import RecordSchema, sql_str

INTEGER = re.compile(r"^-?\d+$")


class UnreadableFile(Exception):
    """The file as a whole cannot be read (corrupt compression, unknown format ...)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class Reject:
    position: int
    raw: str
    raw_bytes: int
    reason: str
    detail: str


@dataclass
class ReadResult:
    rows: pa.Table | None = None  # (position int64, raw string); None when `relation` is used
    relation_sql: str | None = None  # or a DuckDB SELECT producing (position, raw)
    rejects: list[Reject] = field(default_factory=list)


def _bytes(f: LandingFile) -> bytes:
    data = f.path.read_bytes()
    if f.path.name.lower().endswith(".gz"):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise UnreadableFile("corrupt_compression", str(exc)) from exc
    return data


def _decode_lines(data: bytes) -> tuple[list[int], list[str], list[Reject]]:
    """Split into non-blank lines; lines that are not UTF-8 become rejects."""
    positions, texts, rejects = [], [], []
    try:
        lines = data.decode("utf-8").split("\n")
        for number, line in enumerate(lines, start=1):
            if line.strip():
                positions.append(number)
                texts.append(line.removesuffix("\r"))
        return positions, texts, rejects
    except UnicodeDecodeError:
        pass
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            texts.append(line.decode("utf-8").removesuffix("\r"))
            positions.append(number)
        except UnicodeDecodeError as exc:
            shown = line.decode("utf-8", "backslashreplace")
            rejects.append(Reject(number, shown, len(line), "invalid_utf8", f"byte {exc.start} is not UTF-8"))
    return positions, texts, rejects


def _rows(positions: list[int], texts: list[str]) -> pa.Table:
    return pa.table({"position": pa.array(positions, pa.int64()), "raw": pa.array(texts, pa.large_string())})


def read_ndjson(f: LandingFile) -> ReadResult:
    positions, texts, rejects = _decode_lines(_bytes(f))
    return ReadResult(rows=_rows(positions, texts), rejects=rejects)


def _coerce(value: str, json_type: str | None):
    """CSV cells are text: turn them into the JSON type the contract expects where they parse."""
    if value == "":
        return None
    if json_type == "integer" and INTEGER.match(value):
        return int(value)
    if json_type == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if json_type == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if json_type in ("object", "array"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def read_csv(f: LandingFile, schema: RecordSchema, fold_into: str | None) -> ReadResult:
    data = _bytes(f)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile("invalid_utf8", f"CSV byte {exc.start} is not UTF-8") from exc
    types = {fld.name: fld.json_type for fld in schema.fields}
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    positions, texts, rejects = [], [], []
    if header is None:
        return ReadResult(rows=_rows([], []), rejects=[])
    header = [h.strip() for h in header]
    for record in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raw = ",".join(record)
            rejects.append(Reject(number, raw, len(raw.encode()), "csv_wrong_field_count",
                                  f"expected {len(header)} fields, got {len(record)}"))
            continue
        row, extra = {}, {}
        for name, cell in zip(header, record):
            if name in types or fold_into is None:
                row[name] = _coerce(cell, types.get(name))
            elif cell != "":
                extra[name] = cell
        if fold_into is not None and extra:
            row[fold_into] = {**(row.get(fold_into) or {}), **extra}
        positions.append(number)
        texts.append(orjson.dumps(row).decode())
    return ReadResult(rows=_rows(positions, texts), rejects=rejects)


def read_parquet(f: LandingFile, schema: RecordSchema, con: duckdb.DuckDBPyConnection) -> ReadResult:
    path = sql_str(str(f.path))
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    except duckdb.Error as exc:
        raise UnreadableFile("unreadable_parquet", str(exc).splitlines()[0]) from exc
    types = {fld.name: fld.json_type for fld in schema.fields}
    columns = []
    for name, duck_type, *_ in described:
        quoted = '"' + name.replace('"', '""') + '"'
        if duck_type == "TIMESTAMP WITH TIME ZONE":
            # Render as RFC 3339 in UTC; a naive TIMESTAMP keeps no offset and fails validation.
            expr = f"strftime(timezone('UTC', {quoted}), '%Y-%m-%dT%H:%M:%S.%fZ')"
        elif duck_type == "VARCHAR" and types.get(name) in ("object", "array"):
            expr = f"CASE WHEN json_valid({quoted}) THEN CAST({quoted} AS JSON) ELSE to_json({quoted}) END"
        else:
            expr = quoted
        columns.append(f"{sql_str(name)}: {expr}")
    record = "{" + ", ".join(columns) + "}"
    relation = f"""SELECT file_row_number + 1 AS position, CAST(to_json({record}) AS VARCHAR) AS raw
                   FROM read_parquet({path}, file_row_number = true)"""
    return ReadResult(relation_sql=relation)


def read(f: LandingFile, schema: RecordSchema, con: duckdb.DuckDBPyConnection, fold_into: str | None = None) -> ReadResult:
    fmt = f.format
    if fmt == "ndjson":
        return read_ndjson(f)
    if fmt == "csv":
        return read_csv(f, schema, fold_into)
    if fmt == "parquet":
        return read_parquet(f, schema, con)
    raise UnreadableFile("unsupported_format", f"{f.path.name}: expected .ndjson[.gz], .jsonl[.gz], .csv[.gz] or .parquet")
