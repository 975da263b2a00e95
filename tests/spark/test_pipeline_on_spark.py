"""The whole graph on Spark: `synergy run` with SYNERGY_ENGINE=spark on the test cluster succeeds and publishes the
same card documents as the DuckDB build of the same generated landing zone.

Both runs are the session's (tests/spark/conftest.py): the DuckDB graph run in this process, the Spark one the CLI
in a process of its own, as an operator runs it (the Derby metastore admits one process, and the run's steps hand
it over to dbt's process between them). test_dbt_on_spark.py compares every relation the two built; here every
member's published card document, read from the card store the HTTP service serves, is compared with the one field
that moves with every build left out."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ingestion.paths import DataPaths
from publishing.card_store import CardStoreReader, database_path

pytestmark = pytest.mark.slow

MOVES_WITH_EVERY_BUILD = "generated_at"


def published_documents(paths: DataPaths) -> dict[tuple[int, int], dict]:
    """Every member's current card document as the card service reads it, without generated_at."""
    with sqlite3.connect(f"file:{database_path(paths.cards)}?mode=ro", uri=True) as con:
        members = con.execute("""SELECT e.brand_id, e.user_id FROM entries AS e JOIN current AS c
            ON e.from_version <= c.version AND (e.to_version IS NULL OR e.to_version > c.version)""").fetchall()
    reader = CardStoreReader(paths.cards)
    try:
        documents = {}
        for brand_id, user_id in members:
            document = json.loads(reader.get(brand_id, user_id).body())
            document.pop(MOVES_WITH_EVERY_BUILD)
            documents[(brand_id, user_id)] = document
        return documents
    finally:
        reader.close()


def test_synergy_run_succeeds_on_spark(spark_run):
    assert spark_run.done.returncode == 0, spark_run.done.stdout[-5000:]


def test_every_published_card_document_equals_the_duckdb_build(duckdb_run, spark_run):
    expected = published_documents(duckdb_run)
    assert expected
    assert published_documents(spark_run.paths) == expected


def snapshot_comments(paths: DataPaths) -> set[tuple]:
    import duckdb

    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        return set(con.execute("""SELECT schema_name, table_name, NULL, comment FROM duckdb_tables() WHERE comment IS NOT NULL
            UNION ALL SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() WHERE comment IS NOT NULL""").fetchall())


def test_the_analyst_snapshot_carries_the_comments_of_the_duckdb_builds(duckdb_run, spark_run):
    # On Spark the snapshot copies views over Spark's files, which have no comments: they come from dbt's manifest.
    expected = snapshot_comments(duckdb_run)
    assert any(schema == "marts" for schema, *_ in expected)
    assert snapshot_comments(spark_run.paths) == expected
