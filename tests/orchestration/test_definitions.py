"""The code location loads and every asset carries what the data team needs in the UI."""

from __future__ import annotations

import dagster as dg
import pytest

from ingestion.sources import ALL_SOURCES


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    from orchestration.definitions import defs

    return defs


def test_definitions_load(defs):
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("build_all")
    assert defs.resolve_schedule_def("nightly_build")
    assert defs.resolve_sensor_def("landing_files_sensor")


def test_workspace_points_at_the_one_definitions():
    import yaml

    from ingestion.paths import PROJECT_ROOT

    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    [location] = workspace["load_from"]
    assert location["python_module"]["module_name"] == "orchestration.definitions"


# Steps that never open the warehouse, and the pool they are in instead.
OUTSIDE_THE_WAREHOUSE = {"activation/customerio_sync": "customerio", "landing/customerio_people_export": None}


def test_every_asset_has_group_owner_kinds_description_and_the_warehouse_pool(defs):
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    assert len(keys) >= len(ALL_SOURCES) + 15 + 1
    for key in keys:
        node = graph.get(key)
        assert node.group_name and node.group_name != "default", key
        assert node.owners == ["team:data-platform"], key
        assert node.kinds, key
        assert node.description, key
        assert node.assets_def.op.pool == OUTSIDE_THE_WAREHOUSE.get(key.to_user_string(), "warehouse"), key
    groups = {graph.get(k).group_name for k in keys}
    assert {"ingestion", "staging", "publishing"} <= groups


def test_checks_cover_reconciliation_and_dbt_tests(defs):
    checks = {(c.asset_key.to_user_string(), c.name) for c in defs.resolve_asset_graph().asset_check_keys}
    for source in ALL_SOURCES:
        assert (f"raw/{source.name}", "reconciles") in checks
        assert (f"raw/{source.name}", "all_files_loaded") in checks
    assert ("staging/stg_app__users", "unique_stg_app__users_user_id") in checks
    assert any(name.startswith("unique_combination_stg_app__action_logs") for _, name in checks)


def test_action_logs_are_daily_partitioned_with_single_run_backfills(defs):
    node = defs.resolve_asset_graph().get(dg.AssetKey(["raw", "app_action_logs"]))
    assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
    assert node.assets_def.backfill_policy == dg.BackfillPolicy.single_run()


def test_instance_config_admits_one_warehouse_step_at_a_time(tmp_path):
    import shutil

    from ingestion.paths import PROJECT_ROOT

    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_identity_sits_between_the_dbt_models_it_reads_and_the_marts_that_read_it(defs):
    graph = defs.resolve_asset_graph()
    identity = graph.get(dg.AssetKey(["identity", "identifier_profiles"]))
    assert {k.to_user_string() for k in identity.parent_keys} == {
        "intermediate/int_identity__links", "intermediate/int_identity__observations",
        "intermediate/int_identity__identifiers", "config/identity_merge_approvals"}
    assert identity.group_name == "identity"
    assert "marts/profile_identifiers" in {k.to_user_string() for k in identity.child_keys}
    records = graph.get(dg.AssetKey(["identity", "record_profiles"]))
    assert "intermediate/int_identity__profile_events" in {k.to_user_string() for k in records.child_keys}
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert {("marts/member_features", "key_features_stable"), ("marts/profile_predictions", "predictions_fresh"),
            ("identity/identifier_profiles", "largest_profile_within_bound")} <= checks


def test_the_build_runs_dbt_twice_with_the_seeds_in_the_staging_models_step(defs):
    """Dagster gives each stretch of dbt assets between the other assets they wait for a step, one dbt invocation
    each: ingestion, then identity resolution and erasure, make two. Seeds wait for the action logs' ingestion, so
    they build with the staging models instead of in a third invocation of their own."""
    from assets.dbt_models import synergy_dbt_models

    graph = defs.resolve_job_def("build_all").asset_layer.asset_graph
    steps: dict[int, set[str]] = {}
    for key in synergy_dbt_models.keys:
        steps.setdefault(id(graph.assets_def_for_key(key)), set()).add(key.to_user_string())
    assert len(steps) == 2
    [first] = [keys for keys in steps.values() if "staging/stg_app__action_logs" in keys]
    assert {"config/card_settings", "config/identity_rules", "config/rfm_segments"} <= first
    assert "marts/profiles" not in first


def test_activation_runs_after_the_build_not_inside_it(defs):
    activation = {dg.AssetKey(["activation", "customerio_outbound_queue"]), dg.AssetKey(["activation", "customerio_sync"]),
                  dg.AssetKey(["activation", "customerio_sync_outcome"]), dg.AssetKey("card_snapshots")}
    graph = defs.resolve_asset_graph()
    build = defs.resolve_job_def("build_all").asset_layer.executable_asset_keys
    assert not activation & build and dg.AssetKey(["landing", "customerio_people_export"]) not in build
    assert defs.resolve_job_def("activate").asset_layer.executable_asset_keys == activation
    assert all(graph.get(key).automation_condition is not None for key in activation)
    sensor = defs.resolve_sensor_def("activation_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
