"""The DuckDB warehouse file: connecting, the ingestion audit tables, and the analyst snapshot."""

from __future__ import annotations

import os
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ingestion.durable import sync_into_place

if TYPE_CHECKING:
    from publishing.dbt_descriptions import RelationDescription

AUDIT_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.ingested_files (
  source VARCHAR NOT NULL,
  path VARCHAR NOT NULL,              -- relative to the landing zone
  file_id VARCHAR NOT NULL,           -- sha256 of the content
  partition_key VARCHAR,
  size_bytes BIGINT,
  modified_ns BIGINT,
  extracted_at TIMESTAMPTZ,
  status VARCHAR NOT NULL,            -- loaded | duplicate_content | rejected | superseded
  status_detail VARCHAR,
  duplicate_of VARCHAR,               -- for duplicate_content: the path that was loaded
  rows_read BIGINT NOT NULL,
  rows_loaded BIGINT NOT NULL,
  rows_quarantined BIGINT NOT NULL,
  rows_duplicate BIGINT NOT NULL,
  arrived_at TIMESTAMPTZ,
  loaded_at TIMESTAMPTZ NOT NULL,
  load_seconds DOUBLE,
  PRIMARY KEY (source, path, file_id)
);
CREATE TABLE IF NOT EXISTS audit.quarantine (
  source VARCHAR NOT NULL,
  file_id VARCHAR NOT NULL,
  path VARCHAR NOT NULL,
  position BIGINT NOT NULL,           -- 1-based line (NDJSON, CSV) or row (Parquet); 0 = whole file
  reason VARCHAR NOT NULL,            -- stable code, e.g. malformed_json, unknown_action_type
  detail VARCHAR,
  raw VARCHAR,                        -- the row as read, cut to raw_kept_bytes
  raw_bytes BIGINT,                   -- full size of the row
  quarantined_at TIMESTAMPTZ NOT NULL
);
"""


MEMORY_LIMIT_ENV = "SYNERGY_DUCKDB_MEMORY_LIMIT"
DBT_MEMORY_LIMIT_ENV = "SYNERGY_DBT_MEMORY_LIMIT"
THREADS_ENV = "SYNERGY_DUCKDB_THREADS"
TEMP_DIR_ENV = "SYNERGY_DUCKDB_TEMP_DIR"
DEFAULT_MEMORY_LIMIT = "4GB"
# dbt's process builds while the run's own process waits, so it may hold more: at 1M members the two
# achievement models spill under 4 GB (20.9 and 14.8 s) and not under 6 GB (12.7 and 10.1 s), and the
# whole process tree stays under 8 GB.
DEFAULT_DBT_MEMORY_LIMIT = "6GB"


def duckdb_settings(warehouse: Path, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Memory, threads and spill directory of every DuckDB process the platform runs (dbt's memory limit is
    dbt_memory_limit's).

    The memory limit is what DuckDB's buffer manager may hold before it spills to the temp directory:
    a big build spills instead of being killed. The defaults (this one and dbt's) keep the whole run within
    about 8 GB on any machine; raise them on a big one. Threads default to the cores. The spill directory is
    created."""
    temp_directory = Path(environ.get(TEMP_DIR_ENV) or warehouse.parent / "tmp" / "duckdb")
    temp_directory.mkdir(parents=True, exist_ok=True)  # DuckDB creates only the last level itself
    return {
        "memory_limit": environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
        "threads": environ.get(THREADS_ENV) or str(os.cpu_count() or 1),
        "temp_directory": str(temp_directory),
    }


def dbt_memory_limit(environ: Mapping[str, str] = os.environ) -> str:
    """The memory limit of dbt's DuckDB: its own setting, else the platform's when that is set (a small machine
    lowers one limit for everything), else DEFAULT_DBT_MEMORY_LIMIT."""
    return environ.get(DBT_MEMORY_LIMIT_ENV) or environ.get(MEMORY_LIMIT_ENV) or DEFAULT_DBT_MEMORY_LIMIT


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = duckdb_settings(path)
    # At connect time: a process's connections to one file share one database, whose temp directory
    # cannot change once used.
    con = duckdb.connect(str(path), read_only=read_only, config=settings)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    if not read_only:
        # Checkpoint every ~256 MB of WAL instead of 16 MB: one file per commit stays
        # durable in the WAL, and bulk loads stop rewriting the database file per file.
        con.execute("SET checkpoint_threshold = '256MB'")
    return con


def duckdb_memory() -> duckdb.DuckDBPyConnection:
    """An in-memory database with the platform's session settings (reads of files that need no warehouse file)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(AUDIT_DDL)


# The analysts' command-line client (duckdb-cli, pinned in pyproject.toml) reads storage up to v1.5; the
# pipeline's duckdb writes the snapshot in that format so any 1.5+ client or library opens it.
SNAPSHOT_STORAGE_VERSION = "v1.5.0"


def publish_snapshot(warehouse: Path, target: Path, relations: list[str],
                     selects: Mapping[str, str] | None = None, *, replace_only: bool = False,
                     con: duckdb.DuckDBPyConnection | None = None, views_as_tables: bool = False,
                     descriptions: Mapping[str, RelationDescription] | None = None,
                     excluded: Collection[str] = ()) -> dict[str, int]:
    """Copy the given tables (`schema` for all of a schema's tables, or `schema.table`) into a fresh file
    and swap it in with one rename. `selects` gives a table (`schema.table`) its own SELECT instead of
    all of it. Table and column comments (the dbt descriptions) come along.

    With `replace_only`, the fresh file starts as a copy of the current snapshot and only the given
    relations are replaced: a step that changed a few small tables after the build (the sync's outcome)
    publishes them without copying the marts again, and the rest stays what the last build published.

    Only tables: a view is computed from relations the snapshot does not hold. Readers that hold the
    old snapshot keep their open file (the rename only moves the name), so an analyst session never
    blocks or breaks a pipeline run. Returns row counts per copied table.

    `con` is an open connection to the warehouse to copy from (left open); `views_as_tables` copies its views too,
    as tables: with Spark selected, the warehouse's relations are views over the files Spark wrote.
    `descriptions` (`schema.table` -> dbt's descriptions, publishing.dbt_descriptions) comment the copied tables and
    the columns they kept, over the warehouse's comments: views over Spark's files have none. `excluded`
    (`schema.table`) are left out wherever they are.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    start_from_current = replace_only and target.exists()
    if start_from_current:
        shutil.copyfile(target, tmp)  # keeps the storage version the snapshot was written in
    counts: dict[str, int] = {}
    own = con is None
    con = connect(warehouse, read_only=False) if own else con
    try:
        storage = "" if start_from_current else f" (STORAGE_VERSION '{SNAPSHOT_STORAGE_VERSION}')"
        con.execute(f"ATTACH '{tmp}' AS snapshot{storage}")
        for schema, table in _tables(con, "snapshot", relations):  # what a copied snapshot had of these relations
            con.execute(f'DROP TABLE snapshot."{schema}"."{table}"')
        tables = [t for t in _tables(con, con.execute("SELECT current_database()").fetchone()[0], relations, views_as_tables)
                  if ".".join(t) not in excluded]
        for schema, table in tables:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS snapshot."{schema}"')
            select = (selects or {}).get(f"{schema}.{table}", f'SELECT * FROM "{schema}"."{table}"')
            con.execute(f'CREATE TABLE snapshot."{schema}"."{table}" AS {select}')
            counts[f"{schema}.{table}"] = con.execute(f'SELECT count(*) FROM snapshot."{schema}"."{table}"').fetchone()[0]
        _copy_comments(con, list(counts))
        _describe(con, {table: d for table, d in (descriptions or {}).items() if table in counts})
        con.execute("DETACH snapshot")
    finally:
        if own:
            con.close()
    sync_into_place(tmp, target)
    return counts


def _tables(con: duckdb.DuckDBPyConnection, database: str, relations: list[str],
            views_too: bool = False) -> list[tuple[str, str]]:
    views = " UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views() WHERE NOT internal" if views_too else ""
    return con.execute(
        f"SELECT schema_name, table_name FROM (SELECT database_name, schema_name, table_name FROM duckdb_tables(){views}) "
        "WHERE database_name = ? "
        "AND (schema_name IN (SELECT unnest(?)) OR schema_name || '.' || table_name IN (SELECT unnest(?))) ORDER BY 1, 2",
        [database, relations, relations],
    ).fetchall()


def _ident(column: str) -> str:
    """SQL that quotes the identifier held in `column`."""
    return f"""'"' || replace({column}, '"', '""') || '"'"""


def _literal(column: str) -> str:
    """SQL that makes a string literal of the text held in `column`."""
    return f"""'''' || replace({column}, '''', '''''') || ''''"""


def _describe(con: duckdb.DuckDBPyConnection, descriptions: Mapping[str, RelationDescription]) -> None:
    """Comments the snapshot's tables, and the columns each kept, with their descriptions."""
    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    statements = []
    for relation, description in descriptions.items():
        schema, table = relation.split(".", 1)
        target = f"snapshot.{quoted(schema)}.{quoted(table)}"
        if description.table:
            statements.append(f"COMMENT ON TABLE {target} IS {literal(description.table)}")
        kept = {c for (c,) in con.execute("""SELECT column_name FROM duckdb_columns()
            WHERE database_name = 'snapshot' AND schema_name = ? AND table_name = ?""", [schema, table]).fetchall()}
        statements += [f"COMMENT ON COLUMN {target}.{quoted(column)} IS {literal(text)}"
                       for column, text in description.columns.items() if column in kept]
    if statements:
        con.execute(";\n".join(statements))


def _copy_comments(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    """CREATE TABLE AS keeps no comments: give each copied table (`schema.table`), and each column it kept,
    the comment it has in the warehouse (where dbt's persist_docs put the YAML descriptions)."""
    table = f"'snapshot.' || {_ident('w.schema_name')} || '.' || {_ident('w.table_name')}"
    statements = con.execute(f"""
        SELECT 'COMMENT ON TABLE ' || {table} || ' IS ' || {_literal('w.comment')}
        FROM duckdb_tables() AS w
        WHERE w.database_name = current_database() AND coalesce(w.comment, '') <> ''
            AND list_contains(?, w.schema_name || '.' || w.table_name)
        UNION ALL
        SELECT 'COMMENT ON COLUMN ' || {table} || '.' || {_ident('w.column_name')} || ' IS ' || {_literal('w.comment')}
        FROM duckdb_columns() AS w JOIN duckdb_columns() AS s ON s.database_name = 'snapshot'
            AND s.schema_name = w.schema_name AND s.table_name = w.table_name AND s.column_name = w.column_name
        WHERE w.database_name = current_database() AND coalesce(w.comment, '') <> ''
            AND list_contains(?, w.schema_name || '.' || w.table_name)""", [tables, tables]).fetchall()
    if statements:
        con.execute(";\n".join(statement for (statement,) in statements))
