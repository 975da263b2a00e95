"""The small sample through the whole graph on each engine, once per session. The Spark tests that compare results
with DuckDB share these two runs: each takes minutes, and every model runs on Spark in the one run."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from assets.dbt_project import DBT_TARGET_DIR
from ingestion.paths import PROJECT_ROOT, DataPaths
from tests.spark.duckdb_builds import build_sample_on_duckdb
from tests.spark.spark_commands import COMPARED_SCHEMAS, export_relations, spark_environment

RUN_LINE = re.compile(r"^run (\w{8}-\w{4}-\w{4}-\w{4}-\w{12})", re.MULTILINE)


@dataclass(frozen=True)
class SparkRun:
    paths: DataPaths
    done: subprocess.CompletedProcess  # the CLI's output and return code
    env: dict[str, str]  # the run's Spark settings, for dbt or the bridge on its warehouse afterwards
    dbt_results: list[dict]  # every node of the run's dbt invocations (from their run_results.json)
    exported: Path  # every relation of COMPARED_SCHEMAS as the run left it (later tests build some again)


@pytest.fixture(scope="session")
def duckdb_run(tmp_path_factory, small_sample, dbt_manifest) -> DataPaths:
    """The sample built and activated through the real graph on DuckDB."""
    return build_sample_on_duckdb(small_sample, tmp_path_factory.mktemp("pipeline-duckdb") / "data", activated=True)


@pytest.fixture(scope="session")
def spark_run(tmp_path_factory, small_sample, spark_cluster) -> SparkRun:
    """`synergy run` on Spark, on the test cluster, in a process of its own as an operator runs it."""
    home = tmp_path_factory.mktemp("pipeline-spark")
    root = home / "data"
    shutil.copytree(small_sample / "landing", root / "landing")
    env = spark_environment(root, spark_cluster.master_url)
    synergy = Path(sys.executable).with_name("synergy")
    done = subprocess.run([str(synergy), "run", "--data-dir", str(root)], env=env | {"DAGSTER_HOME": str(home)},
                          cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    exported = home / "exported"
    if done.returncode == 0:
        export_relations(env, exported, COMPARED_SCHEMAS, home / "export.log")
    return SparkRun(DataPaths(root), done, env, dbt_results(RUN_LINE.findall(done.stdout)), exported)


def dbt_results(run_ids: list[str]) -> list[dict]:
    """Read now: dagster-dbt keeps each invocation's target/<op>-<run id>-<uuid>/ only until later builds prune it."""
    return [result for run_id in run_ids
            for path in sorted(DBT_TARGET_DIR.glob(f"*-{run_id[:7]}-*/run_results.json"))
            for result in json.loads(path.read_text())["results"]]
