"""A copy of the sync's outcome in the warehouse, so analysts see dead letters next to the marts.

Delivery's state lives in SQLite (DuckDB's sqlite extension is not bundled) and the queue's in its own
DuckDB file; the step after each delivery replaces these small tables from both (and publishes them to
the analyst snapshot).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from activation import outbound_queue
from activation.sync_state import SyncState

Q = outbound_queue.ALIAS
TEXT, INTEGER = pa.string(), pa.int64()
SQLITE = {
    "delivery_dead_letters": ("SELECT destination, brand_id, person_id, kind, dedup_key, reason, field, message, dead_at"
                              " FROM dead_letters ORDER BY destination, seq",
                              [TEXT, INTEGER, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT, TEXT]),
    "delivery_counts": ("SELECT destination, brand_id, kind, status, items, last_at FROM status_counts",
                        [TEXT, INTEGER, TEXT, TEXT, INTEGER, TEXT]),
}


def _sqlite_table(state: SyncState, sql: str, types: list[pa.DataType]) -> pa.Table:
    cursor = state.connection.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return pa.table({name: pa.array([row[i] for row in rows], types[i]) for i, name in enumerate(names)})


def _pending(state: SyncState) -> pa.Table:
    """Items per destination, brand and kind still in the queue, with the oldest availability."""
    tables = []
    for destination in state.streams():
        grouped = state.pending_items(destination).group_by(["brand_id", "kind"]).aggregate(
            [("seq", "count"), ("available_at", "min")])
        tables.append(grouped.append_column("destination", pa.array([destination] * grouped.num_rows, TEXT)))
    if not tables:
        return pa.table({"brand_id": pa.array([], INTEGER), "kind": pa.array([], TEXT),
                         "seq_count": pa.array([], INTEGER), "available_at_min": pa.array([], pa.timestamp("us", tz="UTC")),
                         "destination": pa.array([], TEXT)})
    return pa.concat_tables(tables)


def mirror_to_warehouse(state: SyncState, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    con.execute("CREATE SCHEMA IF NOT EXISTS activation")
    for name, (sql, types) in SQLITE.items():
        con.register(f"_{name}", _sqlite_table(state, sql, types))
    con.register("_pending", _pending(state))
    try:
        with outbound_queue.attached(con, state.path.parent):
            con.execute(f"""
                CREATE OR REPLACE TABLE activation.dead_letters AS
                SELECT destination, brand_id, person_id, kind, dedup_key, reason, field, message,
                    CAST(dead_at AS TIMESTAMPTZ) AS dead_at, 'delivery' AS found_by
                FROM _delivery_dead_letters
                UNION ALL
                SELECT destination, brand_id, person_id, kind, dedup_key, reason, NULL, message, dead_at, 'queueing'
                FROM {Q}.unsendable ORDER BY dead_at, dedup_key""")
            con.execute(f"CREATE OR REPLACE TABLE activation.limit_warnings AS SELECT * FROM {Q}.limit_warnings "
                        "ORDER BY warned_at, dedup_key")
            con.execute(f"""
                CREATE OR REPLACE TABLE activation.sync_status AS
                SELECT destination, brand_id, kind, status, items, oldest_available_at, last_at FROM (
                    SELECT destination, brand_id, kind, status, items, NULL::TIMESTAMPTZ AS oldest_available_at,
                        CAST(last_at AS TIMESTAMPTZ) AS last_at
                    FROM _delivery_counts
                    UNION ALL
                    SELECT destination, brand_id, kind, 'dead', count(*), NULL, max(dead_at) FROM {Q}.unsendable GROUP BY ALL
                    UNION ALL
                    SELECT destination, brand_id, kind, 'pending', seq_count, available_at_min, NULL FROM _pending)
                ORDER BY ALL""")
    finally:
        for name in (*SQLITE, "pending"):
            con.unregister(f"_{name}")
    return {table: con.execute(f"SELECT count(*) FROM activation.{table}").fetchone()[0]
            for table in ("dead_letters", "limit_warnings", "sync_status")}
