"""A warehouse upgraded from an earlier version: the tables that version built and this one does not are dropped by
the next dbt invocation, so no member's rows stay where no build or erasure reaches them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.identity.test_blocklist_patterns import dbt

RETIRED = "intermediate.int_achievements__running"


def tables(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}


def test_a_table_no_longer_built_is_dropped_and_the_rest_kept(tmp_path: Path):
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA intermediate")
        con.execute(f"CREATE TABLE {RETIRED} AS SELECT 'p1' AS profile_id, 'evt-1' AS event_id")
        con.execute("CREATE TABLE intermediate.kept_by_an_analyst AS SELECT 1 AS x")
    dbt(["seed", "--select", "identity_rules"], warehouse, target)
    assert RETIRED not in tables(warehouse)
    assert {"intermediate.kept_by_an_analyst", "config.identity_rules"} <= tables(warehouse)
    dbt(["seed", "--select", "identity_rules"], warehouse, target)  # nothing left to drop: the next run goes on
