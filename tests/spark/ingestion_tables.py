"""The DuckDB warehouse's and the Spark raw layer's ingestion tables as comparable rows.

Both sides are read the same way: timestamps as epoch microseconds (no time-zone conversion in Python),
JSON columns parsed (DuckDB re-serializes JSON text, Spark keeps the property's text: same values, other
spacing), the engine-specific row hash left out. Test code only: it collects small tables to compare them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from ingestion.sources import Source
from ingestion.spark_store import LEDGER_COLUMNS, QUARANTINE_COLUMNS, raw_columns

ENGINE_SPECIFIC = {"_row_hash", "load_seconds"}  # a hash function of each engine; a duration


def _comparable(rows: list[tuple], json_columns: list[int]) -> list[tuple]:
    out = []
    for row in rows:
        row = list(row)
        for i in json_columns:
            row[i] = None if row[i] is None else json.loads(row[i])
        out.append(tuple(row))
    return sorted(out, key=repr)


def _select(columns: list[tuple[str, str]], micros: str) -> tuple[str, list[str]]:
    kept = [(n, k) for n, k in columns if n not in ENGINE_SPECIFIC]
    return ", ".join(f"{micros}(`{n}`)" if k == "TIMESTAMP" else f"`{n}`" for n, k in kept), [n for n, _ in kept]


def table_rows(engine, table: str, columns: list[tuple[str, str]], json_names: set[str] = frozenset(),
               where: str = "true") -> list[tuple]:
    """`engine`: a DuckDB warehouse path or a SparkSession."""
    if isinstance(engine, Path):
        select, names = _select(columns, "epoch_us")
        con = duckdb.connect(str(engine), read_only=True)
        try:
            rows = con.execute(f"SELECT {select.replace('`', chr(34))} FROM {table} WHERE {where}").fetchall()
        finally:
            con.close()
    else:
        select, names = _select(columns, "unix_micros")
        rows = [tuple(r) for r in engine.sql(f"SELECT {select} FROM {table} WHERE {where}").collect()]
    return _comparable(rows, [names.index(n) for n in json_names if n in names])


def raw_rows(engine, source: Source) -> list[tuple]:
    json_names = {f.name for f in source.schema.fields if f.json_type in ("object", "array")}
    return table_rows(engine, source.table, raw_columns(source), json_names)


def ledger_rows(engine, source: Source) -> list[tuple]:
    return table_rows(engine, "audit.ingested_files", LEDGER_COLUMNS, where=f"source = '{source.name}'")


def quarantine_rows(engine, source: Source) -> list[tuple]:
    return table_rows(engine, "audit.quarantine", QUARANTINE_COLUMNS, where=f"source = '{source.name}'")
