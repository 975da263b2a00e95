"""dbt-duckdb plugin: registers the identity SQL functions on every dbt connection.

`phone_e164(raw, timezone)` lets SQL models (and their dbt unit tests) normalize phones with
libphonenumber instead of regexes. libphonenumber is Python, about 60 µs a number, and holds the GIL: once a
dbt process has parsed more than PARALLEL_AFTER numbers (a full build, not a day's few new ones), it splits each
batch DuckDB hands over between worker processes, one per core. The workers are spawned
(engine/worker_processes.py), so a script that registers the function itself needs the usual
`if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import VARCHAR

from engine.worker_processes import spawn_pool
from identity.normalize import phones_for_timezones

# Numbers parsed in the dbt process itself before workers start: starting them costs about a second, the parse of
# 20,000 numbers. An incremental build's new numbers stay below it.
PARALLEL_AFTER = 20_000
WORKERS = os.cpu_count() or 1


class _PhoneParser:
    """Parses in this process until PARALLEL_AFTER numbers were parsed, then in WORKERS processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed = 0
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, raw: pa.Array, timezone: pa.Array) -> pa.Array:
        raws, timezones = raw.to_pylist(), timezone.to_pylist()
        pool = self._pool_for(len(raws))
        if pool is None or not raws:
            return pa.array(phones_for_timezones(raws, timezones), pa.string())
        step = -(-len(raws) // WORKERS)
        parts = [pool.submit(phones_for_timezones, raws[i:i + step], timezones[i:i + step])
                 for i in range(0, len(raws), step)]
        return pa.array([e164 for part in parts for e164 in part.result()], pa.string())

    def _pool_for(self, count: int) -> ProcessPoolExecutor | None:
        with self._lock:
            self._parsed += count
            if self._pool is None and WORKERS > 1 and self._parsed > PARALLEL_AFTER:
                self._pool = spawn_pool(WORKERS)
            return self._pool


phone_e164_batch = _PhoneParser()


def register_functions(conn: DuckDBPyConnection, phone_parser: _PhoneParser = phone_e164_batch) -> None:
    conn.create_function("phone_e164", phone_parser, [VARCHAR, VARCHAR], VARCHAR, type="arrow",
                         null_handling="special", side_effects=False)


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register_functions(conn)
