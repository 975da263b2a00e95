"""The dbt project on Spark builds the same relations as on DuckDB, row for row, from the same data.

A small landing zone is built with the DuckDB engine through the real graph; then the dbt steps run on Spark
(dbt-spark's session method in `synergy-dbt-spark`, as orchestration runs them: the models identity resolution
reads, then the rest) and every seed, staging, intermediate and mart relation is compared with DuckDB's.

The bridge is temporary: until ingestion and identity resolution run on Spark, Spark is given the DuckDB
build's raw and identity tables (exported by DuckDB to Parquet, created as Spark tables of the same databases
and names) instead of loading the landing zone and resolving identities itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assets.dbt_project import DBT_PROJECT_DIR
from ingestion.paths import DATA_DIR_ENV, DataPaths
from tests.spark.compare import comparison_connection, compare_relation
from tests.spark.duckdb_builds import build_sample_on_duckdb

pytestmark = pytest.mark.slow

# What identity resolution reads (assets/identity.py UPSTREAM): the dbt step before it builds these and
# everything they need; the step after it builds the rest.
BEFORE_IDENTITY = ["+int_identity__links", "+int_identity__observations", "+int_identity__identifiers",
                   "+identity_merge_approvals"]
# The layers that run on Spark so far (docs/spark.md says which do not yet, and why).
ON_SPARK = ["resource_type:seed", "path:models/staging", "path:models/intermediate/identity",
            "path:models/intermediate/customer_360", "path:models/marts/customer_360",
            "path:models/intermediate/features", "path:models/marts/features", "int_kpis__member_days",
            "int_cards__feedback", "int_cards__actions", "int_cards__settings", "customerio_erasures"]
BRIDGED_SCHEMAS = ["raw", "identity"]
COMPARED_SCHEMAS = ["config", "staging", "intermediate", "marts"]
DBT_SPARK = Path(sys.executable).with_name("synergy-dbt-spark")


def spark_environment(data_dir: Path, master: str) -> dict[str, str]:
    """The contract's variables: Spark selected on `master`, its warehouse and metastore under this data directory."""
    env = dict(os.environ)
    env.update({"SYNERGY_ENGINE": "spark", DATA_DIR_ENV: str(data_dir), "SYNERGY_SPARK_MASTER": master,
                "SYNERGY_SPARK_WAREHOUSE": str(data_dir / "spark" / "warehouse"),
                "SYNERGY_SPARK_METASTORE": str(data_dir / "spark" / "metastore")})
    return env


def run(command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def dbt_spark(args: list[str], env: dict[str, str], target: Path, log: Path) -> dict:
    """One dbt invocation on Spark: its run results (status of every node) and `built`, the relations
    (database.name) of the models and seeds it built (seeds' results carry no relation name)."""
    run([str(DBT_SPARK), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target / "logs")], env, log, cwd=DBT_PROJECT_DIR)
    results = target / "run_results.json"
    if not results.exists():
        return {"results": [], "built": set()}
    outcome = json.loads(results.read_text())
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    outcome["built"] = {f"{nodes[r['unique_id']]['schema']}.{nodes[r['unique_id']]['alias']}" for r in outcome["results"]
                        if r["unique_id"].split(".")[0] in ("model", "seed") and r["status"] == "success"}
    return outcome


def failed(results: dict) -> list[str]:
    return [f"{r['unique_id']}: {r['status']} {(r.get('message') or '')[:300]}" for r in results["results"]
            if r["status"] not in ("success", "pass")]


@pytest.fixture(scope="module")
def duckdb_build(tmp_path_factory, small_sample, dbt_manifest) -> DataPaths:
    return build_sample_on_duckdb(small_sample, tmp_path_factory.mktemp("duckdb") / "data")


@pytest.fixture(scope="module")
def spark_build(tmp_path_factory, duckdb_build, spark_cluster):
    """The bridge, the two dbt steps on the test cluster, and every relation they built exported to Parquet."""
    root = tmp_path_factory.mktemp("spark")
    env = spark_environment(root / "data", spark_cluster.master_url)
    log = root / "spark.log"
    bridge = [sys.executable, "-m", "tests.spark.warehouse_bridge"]
    assert run([*bridge, "load", str(duckdb_build.warehouse), str(root / "bridge"), *BRIDGED_SCHEMAS], env, log).returncode == 0, log.read_text()[-3000:]
    steps = {
        "before identity": dbt_spark(["build", "--exclude-resource-type", "unit_test", "--select", *BEFORE_IDENTITY],
                                     env, root / "target-before", log),
        "after identity": dbt_spark(["build", "--exclude-resource-type", "unit_test", "--select", *ON_SPARK,
                                     "--exclude", *BEFORE_IDENTITY], env, root / "target-after", log),
    }
    unit_tests = dbt_spark(["test", "--resource-type", "unit_test", "--select", *ON_SPARK], env, root / "target-unit", log)
    exported = root / "exported"
    assert run([*bridge, "export", str(exported), *COMPARED_SCHEMAS], env, log).returncode == 0, log.read_text()[-3000:]
    return steps, unit_tests, exported


def test_every_model_seed_and_data_test_passes_on_spark(spark_build):
    steps, _, _ = spark_build
    for step, results in steps.items():
        assert results["results"], f"the dbt step {step} ran nothing"
        assert not failed(results), f"{step}:\n" + "\n".join(failed(results))


def test_unit_tests_pass_on_spark(spark_build):
    _, unit_tests, _ = spark_build
    assert unit_tests["results"], "no unit test ran"
    assert not failed(unit_tests), "\n".join(failed(unit_tests))


def test_every_relation_equals_the_duckdb_build(spark_build, duckdb_build):
    steps, _, exported = spark_build
    built = set().union(*(results["built"] for results in steps.values()))
    compared = sorted(p.relative_to(exported).parts for p in exported.glob("*/*") if p.is_dir())
    # Every model and seed dbt built on Spark was exported, and nothing else.
    assert {f"{schema}.{name}" for schema, name in compared} == built
    con = comparison_connection(duckdb_build.warehouse)
    differences = [d for schema, name in compared for d in compare_relation(con, schema, name, exported / schema / name)]
    assert not differences, "\n".join(map(str, differences))
