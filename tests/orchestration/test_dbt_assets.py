"""dbt models in the UI: row counts after a real build, checks that say what they check, a target folder
that does not grow with every build."""

from __future__ import annotations

import json
import os

import dagster as dg
import duckdb
import pytest

from dbt.cli.main import dbtRunner

from assets.dbt_project import (DBT_PROJECT_DIR, DBT_TARGET_DIR, KEPT_ARTIFACTS, KEPT_INVOCATIONS, NO_FILE_LOG,
                                PARTIAL_PARSE_FILE, dbt_environment, tidy_invocation_target)
from assets.dbt_test_descriptions import describe_test

from tests.orchestration.build import build_all


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    from orchestration.definitions import defs

    return defs


def test_every_check_says_what_it_checks(defs, dbt_manifest):
    specs = {(s.asset_key.to_user_string(), s.name): s for a in defs.assets for s in getattr(a, "check_specs", [])}
    assert [key for key, spec in specs.items() if not spec.description] == []
    manifest = json.loads(dbt_manifest.read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    # Every dbt test is a check whose description names its model and, for a column test, the column.
    for test in tests:
        # A singular test (a SQL file in dbt_project/tests) is attached to the one model it reads.
        model = manifest["nodes"][test.get("attached_node") or test["depends_on"]["nodes"][0]]
        spec = next(s for (asset, name), s in specs.items() if name == test["name"] and asset.endswith("/" + model["name"]))
        assert f"`{model['name']}`" in spec.description, spec
        if test.get("column_name"):
            assert f"`{test['column_name']}`" in spec.description, spec
    unique = specs[("staging/stg_app__users", "unique_stg_app__users_user_id")]
    assert unique.description == "Column `user_id` of `stg_app__users` has no duplicate values."


def test_a_description_written_in_yaml_wins():
    manifest = {"nodes": {"model.p.m": {"name": "m"}}}
    written = {"name": "t", "attached_node": "model.p.m", "description": "Members are unique per brand.",
               "test_metadata": {"name": "unique", "kwargs": {"column_name": "c"}}}
    assert describe_test(manifest, written) == "Members are unique per brand."
    generated = {**written, "description": "", "config": {"where": "brand_id = 1", "severity": "warn"}}
    assert describe_test(manifest, generated) == ("Column `c` of `m` has no duplicate values, among rows where "
                                                  "brand_id = 1. A failure warns and does not block downstream models.")


def invocation_folders(run_id: str) -> list:
    """dagster-dbt's target/<op>-<run>-<uuid>/ of each dbt step of the run (identity resolution splits the models)."""
    return sorted(DBT_TARGET_DIR.glob(f"synergy_dbt_models*-{run_id[:7]}-*"))


@pytest.mark.slow  # a whole build
def test_a_real_build_reports_row_counts_and_leaves_only_run_results(defs, sample_data_dir, dbt_manifest):
    result = build_all(sample_data_dir)
    assert result.success
    manifest = json.loads(dbt_manifest.read_text())
    materialized = {n["name"]: n["config"]["materialized"] for n in manifest["nodes"].values()
                    if n["resource_type"] == "model"}
    counts = {e.materialization.asset_key.path[-1]: e.materialization.metadata.get("dagster/row_count")
              for e in result.get_asset_materialization_events()
              if e.materialization.asset_key.path[-1] in materialized}
    tables = {name for name, kind in materialized.items() if kind in ("table", "incremental")}
    assert tables and tables <= counts.keys()
    # Row counts are the tables' own, read back from the warehouse file dbt wrote.
    con = duckdb.connect(str(sample_data_dir.warehouse), read_only=True)
    try:
        actual = {name: con.execute(f"SELECT count(*) FROM {manifest_relation(manifest, name)}").fetchone()[0]
                  for name in tables}
    finally:
        con.close()
    # The erasure step runs after the identity models were built and deletes the erased members' rows.
    erasure = next(e.materialization.metadata for e in result.get_asset_materialization_events()
                   if e.materialization.asset_key == dg.AssetKey(["identity", "erasures"]))
    deleted = {table.split(".")[-1]: n for table, n in erasure["derived_rows_deleted"].value.items()}
    assert sum(deleted.values()) > 0
    assert {name: counts[name].value - deleted.get(name, 0) for name in tables} == actual
    assert actual["profiles"] > 0
    # Views are not counted (that would run their query).
    assert all(counts[name] is None for name, kind in materialized.items() if kind == "view" and name in counts)

    # The run's dbt folder keeps dbt's timings only, which benchmarks/pipeline.py reads.
    folders = invocation_folders(result.run_id)
    assert len(folders) >= 2
    for folder in folders:
        assert sorted(p.name for p in folder.iterdir()) == sorted(KEPT_ARTIFACTS)
        assert json.loads((folder / "run_results.json").read_text())["results"]


def test_dbt_writes_no_log_file_in_the_steps_environment(tmp_path, monkeypatch):
    """The steps' environment (dbt_environment) turns dbt's debug log file off; dbt writes one without it."""
    def logs_written(environment: dict[str, str]) -> list[str]:
        logs = tmp_path / str(len(list(tmp_path.iterdir())))
        with monkeypatch.context() as patched:
            for name in NO_FILE_LOG:  # a build earlier in this process left the steps' environment behind
                patched.delenv(name, raising=False)
            for name, value in {**environment, "DBT_LOG_PATH": str(logs)}.items():
                patched.setenv(name, value)
            assert dbtRunner().invoke(["deps", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
                                       "--profiles-dir", str(DBT_PROJECT_DIR)]).success
        return sorted(p.name for p in logs.iterdir()) if logs.exists() else []

    environment = dbt_environment(tmp_path / "warehouse.duckdb")
    assert logs_written(environment) == []
    assert logs_written({k: v for k, v in environment.items() if k not in NO_FILE_LOG}) == ["dbt.log"]


def manifest_relation(manifest: dict, name: str) -> str:
    return next(n["relation_name"] for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name)


def test_only_the_newest_invocation_folders_are_kept(tmp_path):
    target = tmp_path / "target"
    (target / "compiled").mkdir(parents=True)  # a hand-run `dbt build`: not ours to remove
    (target / "manifest.json").write_text("{}")
    folders = []
    for i in range(KEPT_INVOCATIONS + 3):
        folder = target / f"synergy_dbt_models-run{i:04d}-abcdef{i % 10}"
        (folder / "compiled" / "models").mkdir(parents=True)
        (folder / "compiled" / "models" / "m.sql").write_text("select 1")
        (folder / "manifest.json").write_text("{}")
        (folder / "run_results.json").write_text("{}")
        folders.append(folder)
        tidy_invocation_target(folder)
        assert sorted(p.name for p in folder.iterdir()) == ["run_results.json"]
        os.utime(folder, ns=(i * 10**9, i * 10**9))  # builds are minutes apart; these, not always a clock tick
    left = sorted(p.name for p in target.iterdir())
    assert left == sorted(["compiled", "manifest.json", *(f.name for f in folders[-KEPT_INVOCATIONS:])])


def test_an_invocations_parse_cache_becomes_the_target_folders(tmp_path):
    """The next step starts from the cache of the last one, which parsed with this run's profile."""
    target = tmp_path / "target"
    (target / PARTIAL_PARSE_FILE).parent.mkdir(parents=True)
    (target / PARTIAL_PARSE_FILE).write_bytes(b"prepared with another warehouse path")
    folder = target / "synergy_dbt_models-run0001-abcdef1"
    folder.mkdir()
    (folder / PARTIAL_PARSE_FILE).write_bytes(b"parsed with this run's profile")
    (folder / "run_results.json").write_text("{}")
    tidy_invocation_target(folder)
    assert (target / PARTIAL_PARSE_FILE).read_bytes() == b"parsed with this run's profile"
    assert sorted(p.name for p in folder.iterdir()) == ["run_results.json"]
