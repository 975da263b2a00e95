"""Reading one landing file into rows of JSON text.

Every format becomes the same thing: (position, raw JSON text) rows for the schema
validator, plus rows the reader itself had to reject (bad bytes, ragged CSV lines).
Positions are 1-based line numbers (NDJSON, CSV) or row numbers (Parquet).
"""

from __future__ import annotations

import csv
import io
import math
import re
import zlib
from dataclasses import dataclass, field

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from isal import igzip, isal_zlib

from ingestion.landing_files import LandingFile
from ingestion.schema_sql import RecordSchema, sql_str

INTEGER = re.compile(r"^-?[0-9]+\Z")
INT64 = (-(2**63), 2**63 - 1)
BLANK = " \t\r"  # only ASCII blanks make a blank line; anything else is a row to validate
BLANK_BYTES = np.frombuffer(b" \t\r", np.uint8)
# Rows over the loader's row limit are quarantined as row_too_large; the csv module must
# not fail on them first.
csv.field_size_limit(2**31 - 1)


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
    rows: pa.Table  # (position int64, raw string)
    rejects: list[Reject] = field(default_factory=list)


# Whatever a file holds, reading it holds at most this much of it. A compressed file may expand to at
# most MAX_EXPANSION times its size (real NDJSON and CSV compress 5-15x; a bomb 1,000x), past a floor
# for small files, and nothing past MAX_FILE_BYTES: a 1 MiB gzip bomb is refused after 100 MiB instead
# of filling memory with gigabytes. A file past a cap is refused with its reason and recorded, so it is
# never retried. Reference snapshots are whole extracts: at 1M members the users file is 416 MB.
MAX_FILE_BYTES = 2 * 2**30  # uncompressed
MAX_FILE_ROWS = 20_000_000
MAX_EXPANSION = 100
EXPANSION_FLOOR_BYTES = 64 * 2**20


def text_limit(f: LandingFile, compressed_bytes: int) -> int:
    """The most text a file may expand to: a compressed file within its expansion cap, any file within MAX_FILE_BYTES."""
    if f.path.name.lower().endswith(".gz"):
        return min(MAX_FILE_BYTES, max(EXPANSION_FLOOR_BYTES, MAX_EXPANSION * compressed_bytes))
    return MAX_FILE_BYTES


def over_caps(f: LandingFile, compressed_bytes: int, text_bytes: int, newlines: int) -> UnreadableFile | None:
    """Why a file's text is refused whole (rule 3 of the contract), or None. Both engines' loaders ask this."""
    limit = text_limit(f, compressed_bytes)
    if text_bytes > limit:
        return UnreadableFile("file_too_large", f"{compressed_bytes} compressed bytes expand past {limit} bytes "
                              f"(at most {MAX_EXPANSION}x, and {MAX_FILE_BYTES} bytes in all)")
    if newlines > MAX_FILE_ROWS:
        return UnreadableFile("too_many_rows", f"{newlines} lines, over the limit of {MAX_FILE_ROWS} rows")
    return None


def _bytes(f: LandingFile, content: bytes) -> bytes:
    """The file's text: `content` as read from its one open descriptor, decompressed within the caps."""
    if f.path.name.lower().endswith(".gz"):
        limit = text_limit(f, len(content))
        try:
            # ISA-L's gzip: the same format, inflated about twice as fast as zlib.
            with igzip.GzipFile(fileobj=io.BytesIO(content)) as stream:
                data = stream.read(limit + 1)  # decompressed while read: never more than the limit
        except (OSError, EOFError, zlib.error, isal_zlib.error) as exc:
            raise UnreadableFile("corrupt_compression", str(exc)) from exc
    else:
        data = content
    # A text shorter than the row cap cannot have more lines than it: no pass over the text to count them.
    newlines = data.count(b"\n") if len(data) > MAX_FILE_ROWS else 0
    refusal = over_caps(f, len(content), len(data), newlines)
    if refusal is not None:
        raise refusal
    return data


def split_lines(data: bytes) -> tuple[np.ndarray, pa.Array]:
    """The non-blank lines of UTF-8 text as (1-based line numbers, string_view array), without copying.

    Vectorized: newline positions from numpy, each line a view into `data` (a trailing CR dropped).
    Raises pa.ArrowInvalid when the text is not valid UTF-8 (the caller then goes line by line).
    """
    if len(data) >= 2**31:  # a view's offset is 32 bits
        raise UnreadableFile("file_too_large", f"{len(data)} bytes of text; split files under 2 GiB")
    buf = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    nonempty = ends > starts
    first = np.zeros(len(starts), np.uint8)
    first[nonempty] = buf[starts[nonempty]]
    blank_start = nonempty & np.isin(first, BLANK_BYTES)
    keep = nonempty & ~blank_start
    for i in np.flatnonzero(blank_start):  # rare: only a line that starts with a blank needs a closer look
        keep[i] = bool(data[starts[i]:ends[i]].strip(BLANK.encode()))
    lines = np.flatnonzero(keep)
    start, end = starts[lines], ends[lines]
    end = end - (buf[end - 1] == 13)
    length = end - start
    # Arrow string views: 16 bytes each; length, then the bytes themselves up to 12, else a 4-byte prefix,
    # the buffer index (0) and the offset into it.
    views = np.zeros((len(lines), 4), np.int32)
    views[:, 0] = length
    view_bytes = views.view(np.uint8).reshape(len(lines), 16)
    for k in range(12):
        has = np.flatnonzero(length > k) if k < 4 else np.flatnonzero((length > k) & (length <= 12))
        view_bytes[has, 4 + k] = buf[start[has] + k]
    long = length > 12
    views[long, 3] = start[long]
    text = pa.Array.from_buffers(pa.string_view(), len(lines), [None, pa.py_buffer(views), pa.py_buffer(data)])
    text.validate(full=True)
    return lines + 1, text


def _decode_lines(data: bytes) -> tuple[list[int], list[str], list[Reject]]:
    """Line by line, for text that is not all UTF-8: the lines that are not become rejects."""
    positions, texts, rejects = [], [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip(BLANK.encode()):
            continue
        try:
            texts.append(line.decode("utf-8").removesuffix("\r"))
            positions.append(number)
        except UnicodeDecodeError as exc:
            shown = line.decode("utf-8", "backslashreplace")
            rejects.append(Reject(number, shown, len(line), "invalid_utf8", f"byte {exc.start} is not UTF-8"))
    return positions, texts, rejects


def _rows(positions: list[int] | np.ndarray, texts: list[str] | pa.Array) -> pa.Table:
    if not isinstance(texts, pa.Array):
        texts = pa.array(texts, pa.large_string())
    return pa.table({"position": pa.array(positions, pa.int64()), "raw": texts.cast(pa.string_view())})


def _fold(row: dict, known: set[str], into: str) -> dict:
    """Move keys the contract does not name into the `into` object (export attribute columns)."""
    extra = {k: v for k, v in row.items() if k not in known and v not in (None, "")}
    if not extra:
        return row
    current = row.get(into)
    if current is not None and not isinstance(current, dict):
        return row  # `into` has the wrong type: validation quarantines the row as it is
    kept = {k: v for k, v in row.items() if k in known}
    kept[into] = {**(current or {}), **extra}
    return kept


def _fold_texts(texts: list[str], schema: RecordSchema, into: str) -> list[str]:
    known = set(schema.field_names)
    out = []
    for text in texts:
        try:
            row = orjson.loads(text)
        except orjson.JSONDecodeError:
            out.append(text)  # quarantined by validation, unchanged
            continue
        out.append(orjson.dumps(_fold(row, known, into)).decode() if isinstance(row, dict) else text)
    return out


def read_ndjson(f: LandingFile, content: bytes, schema: RecordSchema, fold_into: str | None) -> ReadResult:
    data = _bytes(f, content).removeprefix(b"\xef\xbb\xbf")  # a byte-order mark is not part of the first row
    try:
        positions, texts, rejects = *split_lines(data), []
    except pa.ArrowInvalid:
        positions, texts, rejects = _decode_lines(data)
    if fold_into:
        texts = _fold_texts(texts.to_pylist() if isinstance(texts, pa.Array) else texts, schema, fold_into)
    return ReadResult(rows=_rows(positions, texts), rejects=rejects)


def _coerce(value: str, json_type: str | None):
    """CSV cells are text: turn them into the JSON type the contract expects where they parse."""
    if value == "":
        return None
    if json_type == "integer" and INTEGER.match(value) and INT64[0] <= int(value) <= INT64[1]:
        return int(value)
    if json_type == "number":
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value  # NaN and inf stay text: wrong_type
    if json_type == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if json_type in ("object", "array"):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def read_csv(f: LandingFile, content: bytes, schema: RecordSchema, fold_into: str | None) -> ReadResult:
    # Undecodable bytes survive as surrogates so that only their record is rejected.
    text = _bytes(f, content).removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="surrogateescape")
    types = {fld.name: fld.json_type for fld in schema.fields}
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    positions, texts, rejects = [], [], []
    if header is None:
        return ReadResult(rows=_rows([], []), rejects=[])
    header = [h.strip() for h in header]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise UnreadableFile("csv_duplicate_column", f"header repeats {repeated}")
    known = set(types)
    for record in reader:
        number = reader.line_num
        if not any(cell.strip(BLANK) for cell in record):
            continue
        joined = ",".join(record)
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError as exc:
            shown = joined.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            rejects.append(Reject(number, shown, len(shown), "invalid_utf8", f"character {exc.start} is not UTF-8"))
            continue
        if len(record) != len(header):
            rejects.append(Reject(number, joined, len(joined.encode()), "csv_wrong_field_count",
                                  f"expected {len(header)} fields, got {len(record)}"))
            continue
        row = {name: _coerce(cell, types.get(name)) for name, cell in zip(header, record)}
        if fold_into is not None:
            row = _fold(row, known, fold_into)
        positions.append(number)
        texts.append(orjson.dumps(row).decode())
    return ReadResult(rows=_rows(positions, texts), rejects=rejects)


def read_parquet(f: LandingFile, content: bytes, schema: RecordSchema, fold_into: str | None) -> ReadResult:
    """Parquet via pyarrow (a path is never a glob), rendered to JSON text by DuckDB."""
    try:
        parquet = pq.ParquetFile(pa.BufferReader(content))
        if parquet.metadata.num_rows > MAX_FILE_ROWS:
            raise UnreadableFile("too_many_rows", f"{parquet.metadata.num_rows} rows, over the limit of {MAX_FILE_ROWS}")
        # Counted as decoded, batch by batch: the sizes a file declares, and its dictionary encoding, can lie.
        batches, decoded = [], 0
        for batch in parquet.iter_batches(batch_size=1024):
            decoded += batch.nbytes
            if decoded > MAX_FILE_BYTES:
                raise UnreadableFile("file_too_large", f"decodes to over {MAX_FILE_BYTES} bytes (the limit)")
            batches.append(batch)
        table = pa.Table.from_batches(batches, schema=parquet.schema_arrow)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile("unreadable_parquet", str(exc).splitlines()[0][:500]) from exc
    types = {fld.name: fld.json_type for fld in schema.fields}
    columns = []
    for column_field in table.schema:
        column = table.column(column_field.name)
        if pa.types.is_timestamp(column_field.type) and column_field.type.tz is not None:
            # Any unit, any zone: UTC microseconds, rendered RFC 3339 below. Naive timestamps
            # have no offset and are quarantined by validation.
            column = column.cast(pa.timestamp("us", tz="UTC"))
        columns.append(column)
    table = pa.table(columns, names=table.column_names)
    select = []
    for name in table.column_names:
        quoted = '"' + name.replace('"', '""') + '"'
        duck_type = str(table.schema.field(name).type)
        if duck_type.startswith("timestamp[us, tz="):
            expr = f"strftime(timezone('UTC', {quoted}), '%Y-%m-%dT%H:%M:%S.%fZ')"
        elif pa.types.is_string(table.schema.field(name).type) and types.get(name) in ("object", "array"):
            expr = f"CASE WHEN json_valid({quoted}) THEN CAST({quoted} AS JSON) ELSE to_json({quoted}) END"
        else:
            expr = quoted
        select.append(f"{sql_str(name)}: {expr}")
    record = "{" + ", ".join(select) + "}" if select else "{}"
    cursor = duckdb.connect()  # in memory and private: readers run in threads beside the loader's transaction
    try:
        cursor.register("parquet_arrow", table)
        rendered = cursor.sql(f"SELECT CAST(to_json({record}) AS VARCHAR) AS raw FROM parquet_arrow").to_arrow_table()
    except duckdb.Error as exc:
        raise UnreadableFile("unreadable_parquet", str(exc).splitlines()[0][:500]) from exc
    finally:
        cursor.close()
    texts = rendered.column("raw").to_pylist() if rendered.num_rows else []
    if fold_into:
        texts = _fold_texts(texts, schema, fold_into)
    return ReadResult(rows=_rows(list(range(1, len(texts) + 1)), texts))


def read(f: LandingFile, content: bytes, schema: RecordSchema, fold_into: str | None = None) -> ReadResult:
    """`content`: the file's bytes, read by the caller from the descriptor it checked (never by name again)."""
    fmt = f.format
    if fmt == "ndjson":
        return read_ndjson(f, content, schema, fold_into)
    if fmt == "csv":
        return read_csv(f, content, schema, fold_into)
    if fmt == "parquet":
        return read_parquet(f, content, schema, fold_into)
    raise UnreadableFile("unsupported_format", f"{f.path.name}: expected .ndjson[.gz], .jsonl[.gz], .csv[.gz] or .parquet")
