"""A Spark ingestion process killed between writing a batch and its commit point leaves nothing visible, and the
rerun loads every file exactly once: the counts equal the generator's ground truth."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.paths import DATA_DIR_ENV, PROJECT_ROOT
from ingestion.reconcile import reconcile_spark
from ingestion.sources import ACTION_LOGS, REFERENCE
from ingestion.spark_store import SparkStore
from tests.spark.test_ingestion import NDJSON_SOURCES


def child(data_root: Path, store: Path, *options: str) -> subprocess.Popen:
    env = {**os.environ, DATA_DIR_ENV: str(data_root),
           # The child's own metastore: the test's session holds the other one (Derby admits one process).
           "SYNERGY_SPARK_WAREHOUSE": str(data_root / "child" / "warehouse"),
           "SYNERGY_SPARK_METASTORE": str(data_root / "child" / "metastore")}
    return subprocess.Popen([sys.executable, "-m", "tests.spark.ingest_child", str(data_root / "landing"), str(store), *options],
                            cwd=PROJECT_ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def scalar(spark, sql: str):
    return spark.sql(sql).collect()[0][0]


@pytest.mark.slow
@pytest.mark.extended
def test_killed_between_writing_and_committing_then_rerun_gives_exact_counts(spark, sample_data_dir):
    expected = json.loads((sample_data_dir.ground_truth / "expected.json").read_text())
    store = SparkStore(sample_data_dir.root / "spark_store")
    # Small batches: the action logs (about 2 MB of text) load in a few, and the process is killed before the
    # second one commits.
    proc = child(sample_data_dir.root, store.root, "--batch-bytes", "800000", "--hold-before-commit", "2")
    held = next(line for line in proc.stdout if line.startswith("written "))
    killed_batch = held.split()[1]
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL

    store.define(spark, NDJSON_SOURCES)  # this session's metastore, over the store the child wrote
    for source in NDJSON_SOURCES:
        store.refresh(spark, source)
    written = spark.read.parquet(str(store.rows_dir(ACTION_LOGS))).where(f"_batch = '{killed_batch}'").count()
    assert written > 0, "the killed batch had written its rows"
    visible = scalar(spark, "SELECT count(*) FROM raw.app_action_logs")
    committed = scalar(spark, "SELECT sum(rows_loaded) FROM audit.ingested_files WHERE source = 'app_action_logs'")
    assert 0 < visible == committed < expected["action_log_events_expected_loaded"]
    assert reconcile_spark(spark, ACTION_LOGS) == []

    rerun = child(sample_data_dir.root, store.root, "--batch-bytes", "800000")
    out, _ = rerun.communicate(timeout=3600)
    assert rerun.returncode == 0, out
    for source in NDJSON_SOURCES:
        store.refresh(spark, source)
    assert scalar(spark, "SELECT count(*) FROM raw.app_action_logs") == expected["action_log_events_expected_loaded"]
    assert scalar(spark, "SELECT count(*) FROM audit.quarantine WHERE source = 'app_action_logs'") == \
        sum(expected["action_log_malformed"].values())
    read, duplicate = spark.sql("SELECT sum(rows_read), sum(rows_duplicate) FROM audit.ingested_files "
                                "WHERE source = 'app_action_logs'").collect()[0]
    assert (read, duplicate) == (expected["action_log_rows_written"], expected["action_log_resent_duplicates"])
    assert scalar(spark, "SELECT count(*) - count(DISTINCT path) FROM audit.ingested_files") == 0
    assert scalar(spark, f"SELECT count(*) FROM {REFERENCE['users'].table}") == expected["members"]
    assert {s.name: reconcile_spark(spark, s) for s in NDJSON_SOURCES} == {s.name: [] for s in NDJSON_SOURCES}
    # The killed batch's files are still on disk, and still invisible.
    assert spark.read.parquet(str(store.rows_dir(ACTION_LOGS))).where(f"_batch = '{killed_batch}'").count() == written
