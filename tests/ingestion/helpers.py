"""Small helpers for ingestion tests: write landing files, load, read back."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.loader import FileResult, Loader
from ingestion.sources import Source
from ingestion.warehouse import connect

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def event(event_id: str = "e1", **fields) -> dict:
    row = {"event_id": event_id, "brand_id": 1, "action_type": "product_scanned",
           "occurred_at": "2026-11-19T10:00:00+01:00", "user_id": 5, "product_id": 3, "points_awarded": 100}
    row.update(fields)
    return {k: v for k, v in row.items() if v is not ...}


def write_lines(path: Path, lines: list[str | bytes | dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = b""
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        out += (line if isinstance(line, bytes) else line.encode()) + b"\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(out)
    os.replace(tmp, path)
    return path


def load(warehouse: Path, landing: Path, source: Source, now: datetime = NOW) -> list[FileResult]:
    con = connect(warehouse)
    try:
        return Loader(con, landing, now=now).load_source(source)
    finally:
        con.close()


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def quarantine_reasons(warehouse: Path) -> list[tuple[int, str]]:
    return query(warehouse, "SELECT position, reason FROM audit.quarantine ORDER BY path, position")
