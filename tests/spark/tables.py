"""Moving test tables from DuckDB to Spark, and comparing tables of both engines row for row."""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
from pyspark.sql import SparkSession

from tests.spark.warehouse_bridge import table_to_parquet


def copy_from_duckdb(spark: SparkSession, path: Path, tables: list[str]) -> None:
    """Each `schema.table` of the DuckDB file becomes the Spark table of the same name (replaced), through
    Parquet as the dbt test's bridge moves them."""
    with duckdb.connect(str(path), read_only=True) as con, tempfile.TemporaryDirectory() as staging:
        for table in tables:
            schema, name = table.split(".")
            file = Path(staging) / f"{table}.parquet"
            table_to_parquet(con, schema, name, file)
            spark.sql(f"create database if not exists {schema}")
            spark.read.parquet(str(file)).write.mode("overwrite").saveAsTable(table)


def _value(v):
    if isinstance(v, datetime):  # both engines' instants, compared in UTC
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(v, (list, tuple)):  # lists, and a map's (key, value) pairs
        return tuple(_value(x) for x in v)
    if isinstance(v, dict):  # a struct
        return tuple(sorted((k, _value(x)) for k, x in v.items()))
    return v


def rows(table: pa.Table) -> tuple[list[str], Counter]:
    """Column names and the multiset of rows: tables have no row order in Spark."""
    return table.column_names, Counter(tuple(_value(v) for v in row.values()) for row in table.to_pylist())


def duckdb_rows(path: Path, table: str) -> tuple[list[str], Counter]:
    with duckdb.connect(str(path), read_only=True) as con:
        return rows(con.sql(f"select * from {table}").to_arrow_table())


def spark_rows(spark: SparkSession, table: str) -> tuple[list[str], Counter]:
    return rows(spark.table(table).toArrow())
