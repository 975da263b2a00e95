"""Compaction: the erased bytes leave the warehouse file itself.

DuckDB, like any database file, keeps the blocks an UPDATE or DELETE freed until it reuses them, and it
does not overwrite them: a redacted email can be read from the file with `grep` long after no table holds
it. Compaction copies the database's current contents into a new file and renames it over the old one,
so only live data remains. It copies the whole warehouse, so it runs when a redaction has waited
`max_days` (see `due`), not after every build. Crash-safe: the old file stays in place until the new one
is complete and synced, and the new file is the one that records the compaction.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ingestion.durable import sync_into_place
from ingestion.warehouse import connect

PENDING = "SELECT min(redacted_at) FROM audit.erasure_redactions WHERE compacted_at IS NULL"


def due(con: duckdb.DuckDBPyConnection, max_days: float, now: datetime | None = None) -> bool:
    """A redaction not yet compacted away is at least `max_days` old (0: any pending redaction)."""
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit' "
                         "AND table_name = 'erasure_redactions'").fetchall()[0][0]
    if not exists:
        return False
    oldest = con.execute(PENDING).fetchall()[0][0]
    return oldest is not None and oldest <= (now or datetime.now(UTC)) - timedelta(days=max_days)


def compact(warehouse: Path, now: datetime | None = None) -> dict[str, int]:
    """Rewrite the warehouse file with only its live data; returns its size before and after, in bytes."""
    now = now or datetime.now(UTC)
    fresh = warehouse.with_name(f".{warehouse.name}.compact.{os.getpid()}")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    before = warehouse.stat().st_size
    con = connect(warehouse)
    try:
        con.execute("CHECKPOINT")
        name = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute(f"ATTACH '{fresh}' AS fresh")
        con.execute(f'COPY FROM DATABASE "{name}" TO fresh')
        con.execute("UPDATE fresh.audit.erasure_redactions SET compacted_at = ? WHERE compacted_at IS NULL", [now])
        con.execute("DETACH fresh")
    finally:
        con.close()
    sync_into_place(fresh, warehouse)
    return {"bytes_before": before, "bytes_after": warehouse.stat().st_size}
