"""The stages after the models read Spark's tables through DuckDB views over their Parquet files."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.settings import ENGINE_ENV, SparkSettings
from engine.spark_views import create_views
from orchestration.resources import WarehouseResource
from tests.spark.tables import rows, spark_rows

pytestmark = pytest.mark.slow

MEMBERS = """
    select * from values
        ('p-1', 12, 0.25, cast(19.99 as decimal(12, 2)), timestamp'2026-11-20 08:30:00', date'2026-11-20',
         array('a', 'b'), map('x', 1), named_struct('k', 'v', 'n', 2), 'gold'),
        ('p-2', null, null, null, null, null, array(), map(), null, 'silver'),
        ('p''3', 7, 1.5, cast(0.01 as decimal(12, 2)), timestamp'2026-01-01 00:00:00', date'2026-01-01',
         array('c'), map('y', 2, 'z', 3), named_struct('k', null, 'n', 0), 'gold')
    as t(profile_id, actions, score, spend, last_seen_at, first_day, tags, counts, info, tier)"""


def _create(spark, table: str, sql: str, partitioned_by: str = "") -> None:
    """Parquet tables of the session catalog cannot be replaced in place: dropped, then created."""
    spark.sql("create database if not exists marts")
    spark.sql(f"drop table if exists {table}")
    spark.sql(f"create table {table} using parquet {partitioned_by} as {sql}")


def test_every_spark_table_reads_the_same_through_its_view(spark, tmp_path):
    _create(spark, "marts.view_members", MEMBERS)
    _create(spark, "marts.view_members_by_tier", MEMBERS, "partitioned by (tier)")
    warehouse = SparkSettings.from_env().warehouse

    import duckdb
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        created = create_views(con, warehouse)
        assert {"marts.view_members", "marts.view_members_by_tier"} <= set(created)
        for table in ("marts.view_members", "marts.view_members_by_tier"):
            columns, expected = spark_rows(spark, table)
            view = con.sql(f"select {', '.join(columns)} from {table}").to_arrow_table()
            assert rows(view) == (columns, expected)
        typed = con.execute("select spend, last_seen_at, first_day, counts['y'] from marts.view_members "
                            "where profile_id = 'p''3'").fetchall()
        assert typed[0][0] == Decimal("0.01") and typed[0][2] == date(2026, 1, 1) and typed[0][3] == 2
        assert typed[0][1].replace(tzinfo=None) == datetime(2026, 1, 1)

        # A table dropped in Spark loses its view; a table of the DuckDB file of the same name is refused.
        spark.sql("drop table marts.view_members_by_tier")
        create_views(con, warehouse)
        assert not con.execute("select * from duckdb_views() where view_name = 'view_members_by_tier'").fetchall()
        con.execute("create table marts.clash as select 1 as x")
    _create(spark, "marts.clash", "select 1 as x")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con, pytest.raises(RuntimeError, match="SYNERGY_ENGINE=duckdb"):
        create_views(con, warehouse)
    spark.sql("drop table marts.clash")


def test_the_warehouse_resource_reads_spark_tables_when_spark_is_selected(spark, tmp_path, monkeypatch):
    _create(spark, "marts.resource_members", MEMBERS)
    resource = WarehouseResource(data_dir=str(tmp_path / "data"))
    with resource.connect() as con:
        assert not con.execute("select * from duckdb_views() where view_name = 'resource_members'").fetchall()
    monkeypatch.setenv(ENGINE_ENV, "spark")
    with resource.connect() as con:
        assert con.execute("select count(*), count(distinct tier) from marts.resource_members").fetchall() == [(3, 2)]
    spark.sql("drop table marts.resource_members")
