"""With SYNERGY_SPARK_REMOTE the platform's processes are clients of one Spark Connect server on the cluster,
which owns the metastore: identity resolution through it equals DuckDB's, and dbt runs in a process of its own
while this one keeps its session open (the embedded Derby metastore refuses a second process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import duckdb
import pytest

from assets.dbt_project import DBT_PROJECT_DIR
from benchmarks import identity_links
from engine.settings import REMOTE_ENV, WAREHOUSE_ENV, SparkSettings
from engine.spark import build_session
from engine.spark_connect import start_connect_server
from identity.normalize import phone_for_timezone
from tests.spark.tables import duckdb_rows, spark_rows
from tests.spark.test_identity_resolution import assert_same_tables, resolve_both, same_counts

pytestmark = [pytest.mark.slow, pytest.mark.extended]

SEEDS = ["identity_rules", "card_reasons"]


@pytest.fixture(scope="module")
def connect_server(spark_cluster, tmp_path_factory):
    """A Connect server on the test cluster, with a warehouse and metastore of its own; stopped after this
    module, so the core it holds goes back to the other tests."""
    root = tmp_path_factory.mktemp("connect")
    settings = SparkSettings(master=spark_cluster.master_url, warehouse=root / "warehouse", metastore=root / "metastore")
    with start_connect_server(settings, log_dir=root / "logs", conf={
            "spark.executor.memory": "768m", "spark.executor.cores": "1", "spark.cores.max": "1",
            "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"}) as server:
        yield server.url, settings


@pytest.fixture
def remote(connect_server, monkeypatch):
    """This process's client session, configured as a pipeline process would be."""
    url, settings = connect_server
    monkeypatch.setenv(REMOTE_ENV, url)
    monkeypatch.setenv(WAREHOUSE_ENV, str(settings.warehouse))
    # build_session sets PySpark's own switches; registered here so they are taken back after the test.
    monkeypatch.setenv("SPARK_REMOTE", url)
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    session = build_session()
    yield session
    session.stop()


def test_a_session_is_a_client_of_the_server(remote):
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    assert isinstance(remote, ConnectSession)
    assert remote.conf.get("spark.sql.session.timeZone") == "UTC"


def test_identity_resolution_through_the_server_equals_duckdb(remote, tmp_path):
    for database in ("intermediate", "identity", "config"):
        remote.sql(f"drop database if exists {database} cascade")
    path = tmp_path / "links.duckdb"
    with duckdb.connect(str(path)) as con:
        identity_links.write(con, identity_links.generate(2_000, seed=11))
    expected, summary = resolve_both(remote, path, datetime(2026, 12, 1, tzinfo=UTC))
    assert expected.replayed_components > 0  # the rules fire, in the grouped replay that runs Python in executors
    assert same_counts(expected, summary), (expected, summary)
    assert_same_tables(remote, path)


def dbt(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command + ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
                          env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)


def test_dbt_runs_in_its_own_process_beside_an_open_session(remote, connect_server, tmp_path):
    url, settings = connect_server
    beside = os.path.dirname(sys.executable)
    spark_env = {**os.environ, "SYNERGY_ENGINE": "spark", REMOTE_ENV: url, WAREHOUSE_ENV: str(settings.warehouse)}
    seeded = dbt([f"{beside}/synergy-dbt-spark", "seed", "--select", *SEEDS, "--target-path", str(tmp_path / "t1")], spark_env)
    assert seeded.returncode == 0, seeded.stdout[-3000:]
    # The identity function synergy-dbt-spark registers is in the Connect session dbt-spark runs its SQL in.
    raw, zone = "(415) 555-0100", "America/Los_Angeles"
    shown = dbt([f"{beside}/synergy-dbt-spark", "show", "--inline", f"select phone_e164('{raw}', '{zone}') as phone",
                 "--output", "json", "--log-format", "json", "--target-path", str(tmp_path / "t2")], spark_env)
    assert shown.returncode == 0, shown.stdout[-3000:]
    previews = [json.loads(line)["data"]["preview"] for line in shown.stdout.splitlines()
                if line.startswith("{") and "preview" in json.loads(line).get("data", {})]
    assert [row["phone"] for row in json.loads(previews[-1])] == [phone_for_timezone(raw, zone)]

    duckdb_env = {**os.environ, "SYNERGY_ENGINE": "duckdb", "SYNERGY_WAREHOUSE_PATH": str(tmp_path / "w.duckdb"),
                  "SYNERGY_DUCKDB_TEMP_DIR": str(tmp_path)}
    assert dbt([f"{beside}/dbt", "seed", "--select", *SEEDS, "--target-path", str(tmp_path / "t3")], duckdb_env).returncode == 0
    for seed in SEEDS:
        ours, theirs = spark_rows(remote, f"config.{seed}"), duckdb_rows(tmp_path / "w.duckdb", f"config.{seed}")
        assert ours == theirs, seed
