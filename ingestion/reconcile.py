"""Per-file reconciliation: rows read = loaded + quarantined + duplicates, and the tables agree.

The ledger counts come from the reader; the table counts are recounted here from the
rows actually stored, so a lost or doubled row shows up as a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ingestion.sources import Source


@dataclass
class Mismatch:
    path: str
    problem: str


# Plain SQL that DuckDB and Spark both run (positional parameters: the source twice).
RECONCILE_SQL = """
        WITH stored AS (SELECT _file_id AS file_id, count(*) AS n FROM {table} GROUP BY ALL),
        quarantined AS (
            SELECT file_id, path, count(*) AS n FROM audit.quarantine WHERE source = ? GROUP BY ALL)
        SELECT f.path, f.status, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate,
               coalesce(s.n, 0) AS stored, coalesce(q.n, 0) AS in_quarantine
        FROM audit.ingested_files f
        LEFT JOIN stored s ON s.file_id = f.file_id AND f.status = 'loaded'
        LEFT JOIN quarantined q ON q.file_id = f.file_id AND q.path = f.path
        WHERE f.source = ?
        ORDER BY f.path"""


def reconcile(con: duckdb.DuckDBPyConnection, source: Source) -> list[Mismatch]:
    return mismatches(con.execute(RECONCILE_SQL.format(table=source.table), [source.name, source.name]).fetchall())


def reconcile_spark(spark, source: Source) -> list[Mismatch]:
    """The same check on the Spark raw layer (one row of figures per file comes back, no data)."""
    rows = spark.sql(RECONCILE_SQL.format(table=source.table), args=[source.name, source.name]).collect()
    return mismatches([tuple(row) for row in rows])


def mismatches(rows: list[tuple]) -> list[Mismatch]:
    problems = []
    for path, status, read, loaded, quarantined, duplicate, stored, in_quarantine in rows:
        if read != loaded + quarantined + duplicate:
            problems.append(Mismatch(path, f"read {read} != loaded {loaded} + quarantined {quarantined} + duplicate {duplicate}"))
        if status == "loaded" and stored != loaded:
            problems.append(Mismatch(path, f"ledger says {loaded} loaded, table holds {stored}"))
        if in_quarantine != quarantined:
            problems.append(Mismatch(path, f"ledger says {quarantined} quarantined, quarantine holds {in_quarantine}"))
    return problems
