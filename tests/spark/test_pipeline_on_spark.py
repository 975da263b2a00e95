"""The whole graph on Spark: `synergy run` with SYNERGY_ENGINE=spark on the test cluster builds the same marts and
publishes the same card documents as the DuckDB build of the same generated landing zone.

The DuckDB side is the graph run in this process (tests/orchestration/build.py); the Spark side is the CLI in a
process of its own, as an operator runs it (the Derby metastore admits one process, and the run's steps hand it
over to dbt's process between them). Every relation of the DuckDB build's `marts` schema is compared row for row
with the Parquet files Spark wrote for it (tests/spark/compare.py), and every member's published card document,
read from the card store the HTTP service serves, with the one field that moves with every build left out."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from engine.spark_views import SPARK_DATABASE_SUFFIX, VIEW_ROWS
from ingestion.paths import PROJECT_ROOT, DataPaths
from publishing.card_store import CardStoreReader, database_path
from tests.spark.compare import compare_relation, comparison_connection
from tests.spark.duckdb_builds import build_sample_on_duckdb
from tests.spark.test_dbt_on_spark import spark_environment

pytestmark = pytest.mark.slow

MOVES_WITH_EVERY_BUILD = "generated_at"


@pytest.fixture(scope="module")
def duckdb_run(tmp_path_factory, small_sample, dbt_manifest) -> DataPaths:
    return build_sample_on_duckdb(small_sample, tmp_path_factory.mktemp("pipeline-duckdb") / "data", activated=True)


@pytest.fixture(scope="module")
def spark_run(tmp_path_factory, small_sample, spark_cluster) -> tuple[DataPaths, subprocess.CompletedProcess]:
    """`synergy run` on Spark: its data directory and the finished process (output and return code)."""
    home = tmp_path_factory.mktemp("pipeline-spark")
    root = home / "data"
    shutil.copytree(small_sample / "landing", root / "landing")
    env = spark_environment(root, spark_cluster.master_url) | {"DAGSTER_HOME": str(home)}
    synergy = Path(sys.executable).with_name("synergy")
    done = subprocess.run([str(synergy), "run", "--data-dir", str(root)], env=env, cwd=PROJECT_ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return DataPaths(root), done


def spark_relation_files(paths: DataPaths, schema: str, name: str) -> Path:
    """Where Spark's files for schema.name are: the table's folder, or the rows written for a view the Python
    stages read (engine/spark_views.py)."""
    warehouse = Path(spark_environment(paths.root, "")["SYNERGY_SPARK_WAREHOUSE"])
    table = warehouse / f"{schema}{SPARK_DATABASE_SUFFIX}" / name
    return table if table.is_dir() else warehouse / VIEW_ROWS / f"{schema}{SPARK_DATABASE_SUFFIX}" / name


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
    _, done = spark_run
    assert done.returncode == 0, done.stdout[-5000:]


def test_every_mart_equals_the_duckdb_build(duckdb_run, spark_run):
    spark_paths, _ = spark_run
    con = comparison_connection(duckdb_run.warehouse)
    marts = [name for (name,) in con.execute("""select table_name from information_schema.tables
        where table_catalog = 'duck' and table_schema = 'marts' order by 1""").fetchall()]
    assert marts
    missing = [name for name in marts if not spark_relation_files(spark_paths, "marts", name).is_dir()]
    assert not missing, f"marts Spark did not build: {missing}"
    differences = [d for name in marts
                   for d in compare_relation(con, "marts", name, spark_relation_files(spark_paths, "marts", name))]
    assert not differences, "\n".join(map(str, differences))


def test_every_published_card_document_equals_the_duckdb_build(duckdb_run, spark_run):
    spark_paths, _ = spark_run
    expected = published_documents(duckdb_run)
    assert expected
    assert published_documents(spark_paths) == expected


def snapshot_comments(paths: DataPaths) -> set[tuple]:
    import duckdb

    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        return set(con.execute("""SELECT schema_name, table_name, NULL, comment FROM duckdb_tables() WHERE comment IS NOT NULL
            UNION ALL SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() WHERE comment IS NOT NULL""").fetchall())


def test_the_analyst_snapshot_carries_the_comments_of_the_duckdb_builds(duckdb_run, spark_run):
    # On Spark the snapshot copies views over Spark's files, which have no comments: they come from dbt's manifest.
    spark_paths, _ = spark_run
    expected = snapshot_comments(duckdb_run)
    assert any(schema == "marts" for schema, *_ in expected)
    assert snapshot_comments(spark_paths) == expected
