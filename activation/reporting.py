"""A copy of the sync's outcome in the warehouse, so analysts see dead letters next to the marts.

The sync state lives in SQLite (DuckDB's sqlite extension is not bundled); the queue step, which holds
the warehouse anyway, replaces these small tables from it on every run.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from activation.sync_state import SyncState

MIRRORED = {
    "dead_letters": "SELECT destination, brand_id, person_id, kind, dedup_key, reason, field, message, dead_at"
                    " FROM dead_letters ORDER BY seq",
    "limit_warnings": "SELECT destination, dedup_key, field, message, warned_at FROM limit_warnings",
    "sync_status": "SELECT destination, brand_id, kind, status, count(*) AS items, min(available_at) AS oldest_available_at,"
                   " max(delivered_at) AS last_delivered_at FROM outbound GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
}


INTEGER_COLUMNS = {"brand_id": pa.int64(), "items": pa.int64()}


def mirror_to_warehouse(state: SyncState, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = {}
    con.execute("CREATE SCHEMA IF NOT EXISTS activation")
    for table, sql in MIRRORED.items():
        cursor = state.connection.execute(sql)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        data = pa.table({name: pa.array([row[i] for row in rows], INTEGER_COLUMNS.get(name, pa.string()))
                         for i, name in enumerate(names)})
        con.register("_mirrored", data)
        try:
            con.execute(f"CREATE OR REPLACE TABLE activation.{table} AS SELECT * FROM _mirrored")
        finally:
            con.unregister("_mirrored")
        counts[table] = len(rows)
    return counts
