"""Moves tables between a DuckDB warehouse and the Spark warehouse of the profile's spark output, through Parquet.

Run as a process of its own (`python -m tests.spark.warehouse_bridge load|export ...`): the Derby metastore
admits one process at a time, so no Spark session may outlive a step while dbt runs in another process."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

# DuckDB types Parquet or Spark carry differently: JSON travels as its text.
DUCKDB_TYPES_AS_TEXT = ("JSON",)


def export_duckdb_tables(warehouse: Path, schemas: list[str], target: Path) -> list[tuple[str, str]]:
    """Every table of `schemas` to target/<schema>/<table>.parquet; returns (schema, table) pairs."""
    tables = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("""select table_schema, table_name from information_schema.tables
            where table_type = 'BASE TABLE' and table_schema in (select unnest($1)) order by all""", [schemas]).fetchall()
        for schema, table in rows:
            (target / schema).mkdir(parents=True, exist_ok=True)
            table_to_parquet(con, schema, table, target / schema / f"{table}.parquet")
            tables.append((schema, table))
    return tables


def table_to_parquet(con: duckdb.DuckDBPyConnection, schema: str, table: str, path: Path) -> None:
    """One DuckDB table as a Parquet file Spark reads with the same columns."""
    columns = con.execute("""select column_name, data_type from information_schema.columns
        where table_schema = ? and table_name = ? order by ordinal_position""", [schema, table]).fetchall()
    select = ", ".join(f'cast("{name}" as varchar) as "{name}"' if kind in DUCKDB_TYPES_AS_TEXT else f'"{name}"'
                       for name, kind in columns)
    con.execute(f"copy (select {select} from \"{schema}\".\"{table}\") to '{path}' (format parquet)")


def load(warehouse: Path, schemas: list[str], staging: Path) -> None:
    """The DuckDB warehouse's tables of `schemas` as Spark tables of the same databases and names."""
    from assets.dbt_spark_session import profile_spark_settings, start_session

    tables = export_duckdb_tables(warehouse, schemas, staging)
    spark = start_session(profile_spark_settings())
    for schema in schemas:
        spark.sql(f"create database if not exists {schema}")
    for schema, table in tables:
        spark.sql(f"drop table if exists {schema}.{table}")
        spark.read.parquet(str(staging / schema / f"{table}.parquet")).write.saveAsTable(f"{schema}.{table}")
    spark.stop()


def export(schemas: list[str], target: Path) -> None:
    """Every table and view of the Spark databases `schemas` to target/<schema>/<name>/ (Parquet)."""
    from assets.dbt_spark_session import profile_spark_settings, start_session

    spark = start_session(profile_spark_settings())
    for schema in schemas:
        if not spark.catalog.databaseExists(schema):
            continue
        for table in spark.catalog.listTables(schema):
            spark.table(f"{schema}.{table.name}").write.mode("overwrite").parquet(str(target / schema / table.name))
    spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    load_command = commands.add_parser("load")
    load_command.add_argument("warehouse", type=Path)
    load_command.add_argument("staging", type=Path)
    load_command.add_argument("schemas", nargs="+")
    export_command = commands.add_parser("export")
    export_command.add_argument("target", type=Path)
    export_command.add_argument("schemas", nargs="+")
    args = parser.parse_args()
    if args.command == "load":
        load(args.warehouse, args.schemas, args.staging)
    else:
        export(args.schemas, args.target)


if __name__ == "__main__":
    main()
