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
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assets.dbt_project import DBT_PROJECT_DIR
from ingestion.paths import DATA_DIR_ENV, DataPaths
from tests.spark.compare import comparison_connection, compare_relation
from tests.spark.duckdb_builds import build_sample_on_duckdb
from tests.spark.profile_merge import merge_and_erase

pytestmark = pytest.mark.slow

# What identity resolution reads (assets/identity.py UPSTREAM): the dbt step before it builds these and
# everything they need; the step after it builds the rest.
BEFORE_IDENTITY = ["+int_identity__links", "+int_identity__observations", "+int_identity__identifiers",
                   "+identity_merge_approvals"]
# The whole project: every model, seed and test runs on Spark.
ON_SPARK = ["fqn:*"]
BRIDGED_SCHEMAS = ["raw", "identity"]
COMPARED_SCHEMAS = ["config", "staging", "intermediate", "marts"]
DBT_SPARK = Path(sys.executable).with_name("synergy-dbt-spark")
# Spark 4.3's adaptive execution fails one unit test (int_cards__impression_outcomes::attribution_windows) with a
# ClassCastException while deserializing a UnionExec of the fixture's literal rows in a task; the model builds and
# equals DuckDB on real tables. Unit tests on Spark run without adaptive execution (docs/spark.md).
UNIT_TEST_SPARK_SETTINGS = {"PYSPARK_SUBMIT_ARGS": "--conf spark.sql.adaptive.enabled=false pyspark-shell"}
DBT = Path(sys.executable).with_name("dbt")
# A second build after identity changed: what reads the identity tables, up to the achievement feed.
SINCE_IDENTITY = ["source:identity+,+achievement_completions"]


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
    unit_tests = dbt_spark(["test", "--resource-type", "unit_test", "--select", *ON_SPARK],
                           env | UNIT_TEST_SPARK_SETTINGS, root / "target-unit", log)
    exported = root / "exported"
    assert run([*bridge, "export", str(exported), *COMPARED_SCHEMAS], env, log).returncode == 0, log.read_text()[-3000:]
    return steps, unit_tests, exported, env


def test_every_model_seed_and_data_test_passes_on_spark(spark_build):
    steps, _, _, _ = spark_build
    for step, results in steps.items():
        assert results["results"], f"the dbt step {step} ran nothing"
        assert not failed(results), f"{step}:\n" + "\n".join(failed(results))


def test_unit_tests_pass_on_spark(spark_build):
    _, unit_tests, _, _ = spark_build
    assert unit_tests["results"], "no unit test ran"
    assert not failed(unit_tests), "\n".join(failed(unit_tests))


def test_every_relation_equals_the_duckdb_build(spark_build, duckdb_build):
    steps, _, exported, _ = spark_build
    built = set().union(*(results["built"] for results in steps.values()))
    compared = sorted(p.relative_to(exported).parts for p in exported.glob("*/*") if p.is_dir())
    # Every model and seed dbt built on Spark was exported, and nothing else.
    assert {f"{schema}.{name}" for schema, name in compared} == built
    con = comparison_connection(duckdb_build.warehouse)
    differences = [d for schema, name in compared for d in compare_relation(con, schema, name, exported / schema / name)]
    assert not differences, "\n".join(map(str, differences))


@pytest.fixture(scope="module")
def second_build(tmp_path_factory, duckdb_build, spark_build, spark_cluster):
    """Both engines build the achievement feed again after the same merge and erasure (tests/spark/profile_merge.py):
    DuckDB on a copy of its warehouse, Spark on its own with the changed identity tables bridged over. Returns the
    change, that copy, and the Spark feed's Parquet files after the first and after the second build."""
    _, _, first_export, _ = spark_build
    root = tmp_path_factory.mktemp("second")
    warehouse = root / "warehouse.duckdb"
    shutil.copy(duckdb_build.warehouse, warehouse)
    change = merge_and_erase(warehouse)
    log = root / "second.log"
    build = ["build", "--exclude-resource-type", "unit_test", "--select", *SINCE_IDENTITY]
    duckdb_env = {**os.environ, "SYNERGY_ENGINE": "duckdb", "SYNERGY_WAREHOUSE_PATH": str(warehouse),
                  "SYNERGY_DUCKDB_TEMP_DIR": str(root / "duckdb-tmp")}
    duckdb_run = run([str(DBT), *build, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                      "--target-path", str(root / "target-duckdb")], duckdb_env, log, cwd=DBT_PROJECT_DIR)
    assert duckdb_run.returncode == 0, log.read_text()[-3000:]
    env = spark_environment(first_export.parent / "data", spark_cluster.master_url)
    bridge = [sys.executable, "-m", "tests.spark.warehouse_bridge"]
    assert run([*bridge, "load", str(warehouse), str(root / "bridge"), "identity"], env, log).returncode == 0, log.read_text()[-3000:]
    results = dbt_spark(build, env, root / "target-spark", log)
    assert results["results"] and not failed(results), "\n".join(failed(results))
    assert run([*bridge, "export", str(root / "exported"), "marts"], env, log).returncode == 0, log.read_text()[-3000:]
    feed = "marts/achievement_completions"
    return change, warehouse, first_export / feed, root / "exported" / feed


def test_the_achievement_feed_follows_a_merge_and_an_erasure_as_on_duckdb(second_build, duckdb_build):
    change, warehouse, spark_first, spark_second = second_build
    con = comparison_connection(warehouse)
    assert compare_relation(con, "marts", "achievement_completions", spark_second) == []
    # Each completion was detected by the same one of the two builds on both engines.
    con.execute(f"attach '{duckdb_build.warehouse}' as first_build (read_only)")
    feeds = {"duckdb": ("first_build.marts.achievement_completions", "duck.marts.achievement_completions"),
             "spark": (f"read_parquet('{spark_first}/*.parquet')", f"read_parquet('{spark_second}/*.parquet')")}
    detected = {}
    for engine, (first, second) in feeds.items():
        (first_invocation,), = con.execute(f"select distinct detected_by_invocation from {first}").fetchall()
        detected[engine] = set(con.execute(f"""select profile_id, achievement_config_id, window_key,
            detected_by_invocation <> ? as in_second_build from {second}""", [first_invocation]).fetchall())
    assert detected["spark"] == detected["duckdb"]
    # On Spark: the merged and the erased profiles have nothing left; the windows only the merged profile had
    # completed are the survivor's now, still as the first build detected them.
    spark_first, spark_second = feeds["spark"]
    left = con.execute(f"select count(*) from {spark_second} where profile_id in (?, ?)", [change.merged, change.erased]).fetchone()
    assert left == (0,)
    moved = set(con.execute(f"""select achievement_config_id, window_key from {spark_first} where profile_id = $1
        except select achievement_config_id, window_key from {spark_first} where profile_id = $2""",
                            [change.merged, change.survivor]).fetchall())
    assert moved
    survivor = {(config, window) for profile, config, window, in_second in detected["spark"]
                if profile == change.survivor and not in_second}
    assert moved <= survivor


# The state a crash leaves in the feed's rewrite (macros/engine/tables.sql), made by the rewrite's own first half in a
# dbt process of its own: `rows` are what the rewrite wrote, `then` what ran of the swap before the crash.
CRASHED_REWRITE = """{{% set feed = api.Relation.create(schema='marts', identifier='achievement_completions', type='table') %}}
{{% do synergy.write_table_rewrite(feed, '{rows}') %}}{then} select 1 as crashed"""


def feed_rows(env: dict[str, str]) -> list[tuple]:
    """Every row of the Spark feed with its stamps, read from its Parquet files (no Spark process holds the metastore)."""
    import duckdb

    files = Path(env["SYNERGY_SPARK_WAREHOUSE"]) / "marts.db" / "achievement_completions"
    assert files.is_dir(), "the feed's table is gone"
    with duckdb.connect() as con:
        return con.execute(f"""select profile_id, achievement_config_id, window_key, detected_at, detected_by_invocation
            from read_parquet('{files}/*.parquet') order by all""").fetchall()


@pytest.mark.parametrize("crash", [
    # After the new table was written and the old one dropped, before the rename: the new one holds every row.
    {"rows": "select * from marts.achievement_completions", "then": "{% do run_query('drop table ' ~ feed) %}"},
    # While the new table was being written, before the swap started: the old one is intact, the new one partial.
    {"rows": "select * from marts.achievement_completions where false", "then": ""},
], ids=["half swapped", "not swapped"])
def test_a_crashed_rewrite_of_the_feed_is_finished_by_the_next_build(spark_build, crash, tmp_path):
    *_, env = spark_build
    before = feed_rows(env)
    log = tmp_path / "crash.log"
    dbt_spark(["show", "--inline", CRASHED_REWRITE.format(**crash)], env, tmp_path / "target-crash", log)
    leftover = Path(env["SYNERGY_SPARK_WAREHOUSE"]) / "marts.db" / "achievement_completions__rewrite"
    assert leftover.is_dir(), log.read_text()[-3000:]
    results = dbt_spark(["build", "--exclude-resource-type", "unit_test", "--select", "achievement_completions"],
                        env, tmp_path / "target-build", log)
    assert results["results"] and not failed(results), "\n".join(failed(results))
    # The same completions, each with the stamps of the build that first detected it: none detected again.
    assert feed_rows(env) == before
    assert not leftover.exists()
