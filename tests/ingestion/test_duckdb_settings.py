"""DuckDB's memory limits: the platform's connections and dbt's builds, from the environment."""

from __future__ import annotations

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from assets.dbt_project import DBT_PROJECT_DIR, dbt_environment
from ingestion.warehouse import connect, dbt_memory_limit


def shown(limit: str) -> str:
    """How DuckDB reports a memory limit it was given."""
    with duckdb.connect(config={"memory_limit": limit}) as con:
        return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_dbt_has_its_own_limit_unless_the_platform_limit_is_set():
    assert dbt_memory_limit({}) == "6GB"
    assert dbt_memory_limit({"SYNERGY_DUCKDB_MEMORY_LIMIT": "2GB"}) == "2GB"
    assert dbt_memory_limit({"SYNERGY_DUCKDB_MEMORY_LIMIT": "2GB", "SYNERGY_DBT_MEMORY_LIMIT": "3GB"}) == "3GB"


@pytest.mark.parametrize(("environ", "platform", "dbt"), [
    ({}, "4GB", "6GB"),
    ({"SYNERGY_DUCKDB_MEMORY_LIMIT": "2GB"}, "2GB", "2GB"),
    ({"SYNERGY_DBT_MEMORY_LIMIT": "3GB"}, "4GB", "3GB"),
])
def test_each_process_gets_its_limit(tmp_path, monkeypatch, environ, platform, dbt):
    for name in ("SYNERGY_DUCKDB_MEMORY_LIMIT", "SYNERGY_DBT_MEMORY_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == shown(platform)
    finally:
        con.close()
    for name, value in dbt_environment(warehouse).items():
        monkeypatch.setenv(name, value)
    assert dbt_show_memory_limit(tmp_path) == shown(dbt)


def dbt_show_memory_limit(tmp_path) -> str:
    """The memory limit of dbt's DuckDB session, as dbt runs with the current environment."""
    result = dbtRunner().invoke([
        "show", "--inline", "select current_setting('memory_limit') as memory_limit", "--quiet",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(tmp_path / "target")])
    assert result.success, result.exception
    return result.result.results[0].agate_table.rows[0][0]


@pytest.mark.parametrize(("environ", "dbt"), [({}, "6GB"), ({"SYNERGY_DUCKDB_MEMORY_LIMIT": "2GB"}, "2GB")])
def test_dbt_by_hand_follows_the_same_rule(tmp_path, monkeypatch, environ, dbt):
    """profiles.yml's own defaults, for dbt run without the platform setting its environment."""
    for name in ("SYNERGY_DUCKDB_MEMORY_LIMIT", "SYNERGY_DBT_MEMORY_LIMIT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**environ, "SYNERGY_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
                        "SYNERGY_DUCKDB_TEMP_DIR": str(tmp_path / "spill")}.items():
        monkeypatch.setenv(name, value)
    assert dbt_show_memory_limit(tmp_path) == shown(dbt)
