"""The raw layer on Spark: where each load batch is written, and the one step that commits it.

Spark has no transaction across tables (and Delta Lake is not available here), so a batch is made
visible by a single atomic step instead:

1. The batch's validated rows and its quarantined rows are appended as Parquet files to the store
   (`<root>/rows/<source>/`, `<root>/quarantine/`), every row tagged with the batch id (`_batch`).
   Readers never see these files directly.
2. The commit point: the batch's ledger entries are written as one Parquet file under a hidden
   temporary name, synced, and renamed to `<root>/ledger/batch-<id>.parquet` (one rename, then the
   folder is synced). A batch is committed exactly when its ledger file exists.
3. The tables everyone reads are views that keep only committed batches: `audit.ingested_files` is the
   latest ledger entry of each (source, path, file_id); `audit.quarantine` the quarantined rows of
   committed batches; `raw.<table>` the rows of files whose current entry is `loaded`, from the batch
   that loaded them (so a superseded extract's rows disappear with the entry that supersedes them).

A process killed before the rename leaves Parquet files of a batch that never commits: no view shows
them, the ledger does not know their landing files, and the next run loads those files again in a new
batch, exactly once. Those orphaned files stay on disk (invisible) until removed by hand.

The metastore holds only definitions (external tables over the store folders, and the views), never
state: any session can define them again over the same root. The views and tables carry the names
and columns of the DuckDB warehouse's (`raw`, `audit`); the store's own tables live in `ingest_store`.
Only one loader may write a root at a time (as with the single-writer Derby metastore).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.durable import write_atomically
from ingestion.loader import raw_table_ddl
from ingestion.schema_sql import DUCKDB, SPARK, SPARK_TYPES, Dialect
from ingestion.sources import Source
from ingestion.warehouse import AUDIT_DDL

STORE_DB = "ingest_store"
BATCH = "_batch"  # the load batch a stored row or ledger entry belongs to
ROWS_BATCH = "_rows_batch"  # in the ledger: the batch whose stored rows are the file's rows
SPARK_DDL_TYPES = {**SPARK_TYPES, "TIMESTAMP WITH TIME ZONE": "TIMESTAMP", "UBIGINT": "BIGINT"}
ARROW_TYPES = {"STRING": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(), "TIMESTAMP": pa.timestamp("us", tz="UTC")}


def duckdb_columns(ddl: str, table: str) -> list[tuple[str, str]]:
    """(name, Spark type) of a table as the DuckDB warehouse defines it: one definition for both engines."""
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS audit")
        con.execute(ddl)
        described = con.execute(f"DESCRIBE {table}").fetchall()
    finally:
        con.close()
    return [(name, SPARK_DDL_TYPES.get(kind, kind)) for name, kind, *_ in described]


LEDGER_COLUMNS = duckdb_columns(AUDIT_DDL, "audit.ingested_files")
QUARANTINE_COLUMNS = duckdb_columns(AUDIT_DDL, "audit.quarantine")
LEDGER_SCHEMA = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in LEDGER_COLUMNS]
                          + [(BATCH, pa.string()), (ROWS_BATCH, pa.string())])


def committed_views(dialect: Dialect, ledger: str, quarantine: str, rows: list[tuple[Source, str]], current_files: str) -> dict[str, str]:
    """The views of committed batches (name -> SELECT), in SQL that Spark and DuckDB both run, over the given
    relations: the ledger, the quarantined rows, and each source's stored rows (`dialect` quotes the names)."""

    def names(columns: list[tuple[str, str]], prefix: str = "") -> str:
        return ", ".join(prefix + dialect.ident(name) for name, _ in columns)

    views = {
        current_files: f"""SELECT {names(LEDGER_COLUMNS)}, {BATCH}, {ROWS_BATCH} FROM (
                SELECT *, row_number() OVER (PARTITION BY source, path, file_id ORDER BY {BATCH} DESC) AS _n
                FROM {ledger} AS l) AS numbered
            WHERE _n = 1""",
        "audit.ingested_files": f"SELECT {names(LEDGER_COLUMNS)} FROM {current_files}",
        "audit.quarantine": f"""SELECT {names(QUARANTINE_COLUMNS, 'q.')} FROM {quarantine} AS q
            WHERE EXISTS (SELECT 1 FROM {ledger} AS c WHERE c.{BATCH} = q.{BATCH})""",
    }
    for source, stored in rows:
        views[source.table] = f"""SELECT {names(raw_columns(source), 'r.')} FROM {stored} AS r
            WHERE EXISTS (SELECT 1 FROM {current_files} AS c WHERE c.source = {dialect.lit(source.name)}
                AND c.status = 'loaded' AND c.{ROWS_BATCH} = r.{BATCH} AND c.file_id = r._file_id)"""
    return views


DUCKDB_INSTANT = "TIMESTAMPTZ"  # Spark's TIMESTAMP is an instant


def _parquet_or_empty(folder: Path, columns: list[tuple[str, str]]) -> str:
    """DuckDB: a SELECT of the folder's Parquet files (none: no rows) with the given columns and types."""
    files = sorted(f for f in folder.rglob("*.parquet") if not f.name.startswith(("_", "."))) if folder.is_dir() else []
    if not files:
        return "SELECT " + ", ".join(f"CAST(NULL AS {DUCKDB_INSTANT if kind == 'TIMESTAMP' else kind}) AS {DUCKDB.ident(name)}" for name, kind in columns) + " WHERE false"
    paths = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    return f"SELECT {', '.join(DUCKDB.ident(name) for name, _ in columns)} FROM read_parquet([{paths}], union_by_name = true)"


def raw_columns(source: Source) -> list[tuple[str, str]]:
    return duckdb_columns(raw_table_ddl(source), source.table)


def _ddl(columns: list[tuple[str, str]]) -> str:
    return ", ".join(f"{SPARK.ident(name)} {kind}" for name, kind in columns)



def store_root(warehouse: Path) -> Path:
    """Where the raw layer lives inside a Spark SQL warehouse directory (not a database folder: no Spark table)."""
    return warehouse / "synergy_ingest"


@dataclass(frozen=True)
class SparkStore:
    root: Path

    def rows_dir(self, source: Source) -> Path:
        return self.root / "rows" / source.name

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    @property
    def ledger_dir(self) -> Path:
        return self.root / "ledger"

    def rows_table(self, source: Source) -> str:
        return f"{STORE_DB}.{source.name}"

    # --- definitions ----------------------------------------------------------------------------
    def define(self, spark, sources: list[Source]) -> None:
        """The store's external tables and the views over them (idempotent; re-points a metastore that
        knew another root)."""
        for database in ("raw", "audit", STORE_DB):
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {database}")
        self._external(spark, f"{STORE_DB}.ledger", self.ledger_dir,
                       LEDGER_COLUMNS + [(BATCH, "STRING"), (ROWS_BATCH, "STRING")])
        self._external(spark, f"{STORE_DB}.quarantine", self.quarantine_dir, QUARANTINE_COLUMNS + [(BATCH, "STRING")])
        for source in sources:
            self._external(spark, self.rows_table(source), self.rows_dir(source), raw_columns(source) + [(BATCH, "STRING")])
        views = committed_views(SPARK, f"{STORE_DB}.ledger", f"{STORE_DB}.quarantine",
                                [(source, self.rows_table(source)) for source in sources], f"{STORE_DB}.current_files")
        for name, sql in views.items():
            spark.sql(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    def define_in_duckdb(self, con: duckdb.DuckDBPyConnection, sources: list[Source]) -> list[str]:
        """The same views in a DuckDB connection, over the store's Parquet files as they are now, so the stages that
        read the warehouse through DuckDB (the ingestion assets' metadata, the analyst snapshot) read the raw layer
        with the same committed-batch rule. Returns the views' names."""
        ledger = _parquet_or_empty(self.ledger_dir, LEDGER_COLUMNS + [(BATCH, "STRING"), (ROWS_BATCH, "STRING")])
        quarantine = _parquet_or_empty(self.quarantine_dir, QUARANTINE_COLUMNS + [(BATCH, "STRING")])
        rows = [(source, f"({_parquet_or_empty(self.rows_dir(source), raw_columns(source) + [(BATCH, 'STRING')])})")
                for source in sources]
        views = committed_views(DUCKDB, f"({ledger})", f"({quarantine})", rows,
                                f"{STORE_DB}.current_files")
        for name in views:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {name.split('.')[0]}")
        for name, sql in views.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
        return list(views)

    @staticmethod
    def _external(spark, table: str, location: Path, columns: list[tuple[str, str]]) -> None:
        location.mkdir(parents=True, exist_ok=True)
        if spark.catalog.tableExists(table):
            described = {row[0]: row[1] for row in spark.sql(f"DESCRIBE TABLE EXTENDED {table}").collect()}
            if Path(described.get("Location", "").removeprefix("file:")) == location:
                return
            spark.sql(f"DROP TABLE {table}")  # external: the files stay
        spark.sql(f"CREATE TABLE {table} ({_ddl(columns)}) USING parquet LOCATION {SPARK.lit(location.as_uri())}")

    def refresh(self, spark, source: Source) -> None:
        """This session lists the store's files again (another session lists them on its next query)."""
        for table in (f"{STORE_DB}.ledger", f"{STORE_DB}.quarantine", self.rows_table(source)):
            spark.catalog.refreshTable(table)

    # --- the commit point ----------------------------------------------------------------------------
    def commit(self, batch_id: str, entries: list[dict]) -> Path:
        """Make a written batch visible: its ledger entries (audit.ingested_files columns and the batch
        whose stored rows each file owns) land in one file by one atomic rename."""
        table = pa.Table.from_pylist([{**entry, BATCH: batch_id} for entry in entries], schema=LEDGER_SCHEMA)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        path = self.ledger_dir / f"batch-{batch_id}.parquet"
        write_atomically(path, buffer.getvalue())  # a hidden temporary name, synced, renamed, folder synced
        return path
