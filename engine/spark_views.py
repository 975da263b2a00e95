"""DuckDB views over the Spark warehouse's tables.

With Spark selected, the stages that read the models in bulk (the Customer.io queue, card
publishing, the analyst snapshot, the build's checks and metadata) keep their DuckDB code: the
warehouse connection gets one view per Spark table, reading that table's Parquet files where Spark
wrote them. Nothing goes through the Spark driver; DuckDB streams the files.

A managed table of database `d` lives in `<warehouse>/d.db/<table>/`. Files and folders whose name
starts with `_` or `.` (`_SUCCESS`, `_temporary/` of a write under way, `.crc` checksums) are not data.
A table being written by another process is not read here: the pipeline runs its steps one at a time.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

SPARK_DATABASE_SUFFIX = ".db"
# Spark views have no files. The few that the Python stages read get their rows written under this folder of the
# warehouse after each dbt build on Spark (`write_view_rows`), laid out like tables: <folder>/<database>.db/<view>/.
VIEW_ROWS = "synergy_view_rows"
READ_AFTER_MODELS = ("staging.stg_app__brands", "staging.stg_app__erasure_requests", "marts.customerio_events")


def table_files(warehouse: Path) -> dict[tuple[str, str], list[Path]]:
    """(database, table) -> the table's Parquet data files, for every managed table under the warehouse."""
    tables = {}
    for database in sorted(warehouse.glob(f"*{SPARK_DATABASE_SUFFIX}")):
        for table in sorted(p for p in database.iterdir() if p.is_dir() and not _hidden(p.name)):
            files = sorted(f for f in table.rglob("*.parquet")
                           if not any(_hidden(part) for part in f.relative_to(table).parts))
            if files:
                tables[(database.name.removesuffix(SPARK_DATABASE_SUFFIX), table.name)] = files
    return tables


def _hidden(name: str) -> bool:
    return name.startswith(("_", "."))


def create_views(con: duckdb.DuckDBPyConnection, warehouse: Path) -> list[str]:
    """Replace the views of every Spark table in `con` (schema = Spark database); returns their names.

    A table of the DuckDB file under the same name is a data directory used with both engines: an
    error that says so, rather than a view that silently hides it."""
    names = []
    for (schema, table), files in (table_files(warehouse) | table_files(warehouse / VIEW_ROWS)).items():
        name = f'"{schema}"."{table}"'
        kind = con.execute("select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                           [schema, table]).fetchall()
        if kind and kind[0][0] != "VIEW":
            raise RuntimeError(f"{schema}.{table} is a table of the DuckDB warehouse, not a view of Spark's: this data "
                               "directory was built with SYNERGY_ENGINE=duckdb; use another one for Spark")
        paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con.execute(f'create schema if not exists "{schema}"')
        # Partition columns, which Spark writes as folder names (col=value), are found by DuckDB's autodetection.
        con.execute(f"create or replace view {name} as select * from read_parquet([{paths}])")
        names.append(f"{schema}.{table}")
    _drop_views_of_dropped_tables(con, warehouse, set(names))
    return names


def _drop_views_of_dropped_tables(con: duckdb.DuckDBPyConnection, warehouse: Path, current: set[str]) -> None:
    """A view whose Spark table is gone (dropped, or swapped under another name) would fail when read."""
    stale = con.execute("select schema_name, view_name from duckdb_views() where not internal and contains(sql, ?)",
                        [str(warehouse)]).fetchall()
    for schema, view in stale:
        if f"{schema}.{view}" not in current:
            con.execute(f'drop view "{schema}"."{view}"')


def write_view_rows(spark, warehouse: Path, views: tuple[str, ...] = READ_AFTER_MODELS) -> list[str]:
    """The rows of the Spark views the Python stages read, as Parquet where `create_views` finds them (written by
    the executors; a view not built yet is skipped). Returns the views written."""
    written = []
    for view in views:
        if spark.catalog.tableExists(view):
            database, name = view.split(".")
            spark.table(view).write.mode("overwrite").parquet(
                str(warehouse / VIEW_ROWS / f"{database}{SPARK_DATABASE_SUFFIX}" / name))
            written.append(view)
    return written


def write_empty_table_schemas(spark, warehouse: Path) -> list[str]:
    """Spark writes no file for a table without rows, so DuckDB would not know its columns: each such table gets
    one empty Parquet file with its schema. Returns the tables given one."""
    given = []
    for database in sorted(warehouse.glob(f"*{SPARK_DATABASE_SUFFIX}")):
        for folder in sorted(p for p in database.iterdir() if p.is_dir() and not _hidden(p.name)):
            table = f"{database.name.removesuffix(SPARK_DATABASE_SUFFIX)}.{folder.name}"
            if any(folder.rglob("*.parquet")) or not spark.catalog.tableExists(table):
                continue
            schema = spark.table(table).schema
            spark.createDataFrame([], schema).coalesce(1).write.mode("append").parquet(str(folder))
            given.append(table)
    return given


def write_files_for_duckdb(spark, warehouse: Path) -> None:
    """After dbt built on Spark: the rows of the Spark views the Python stages read, and a schema file in each
    table without rows."""
    write_view_rows(spark, warehouse)
    write_empty_table_schemas(spark, warehouse)


def create_spark_views(con: duckdb.DuckDBPyConnection, warehouse: Path) -> list[str]:
    """Views of every Spark table and of the Spark raw layer (its committed batches: raw.*, audit.ingested_files,
    audit.quarantine), as the warehouse connection reads them with Spark selected."""
    from ingestion.sources import ALL_SOURCES
    from ingestion.spark_store import SparkStore, store_root

    return create_views(con, warehouse) + SparkStore(store_root(warehouse)).define_in_duckdb(con, ALL_SOURCES)
