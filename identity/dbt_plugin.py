"""dbt-duckdb plugin: registers the identity SQL functions on every dbt connection.

`phone_e164(raw, timezone)` lets SQL models (and their dbt unit tests) normalize phones with
libphonenumber instead of regexes.
"""

from __future__ import annotations

import pyarrow as pa
from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import VARCHAR

from identity.normalize import phone_for_timezone


def phone_e164_batch(raw: pa.Array, timezone: pa.Array) -> pa.Array:
    return pa.array([phone_for_timezone(r, t) for r, t in zip(raw.to_pylist(), timezone.to_pylist())], pa.string())


def register_functions(conn: DuckDBPyConnection) -> None:
    conn.create_function("phone_e164", phone_e164_batch, [VARCHAR, VARCHAR], VARCHAR, type="arrow",
                         null_handling="special", side_effects=False)


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        register_functions(conn)
