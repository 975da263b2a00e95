"""The Dagster ingestion assets follow the engine switch: on Spark they load the same landing zone into the Spark raw
layer and report the same materialization metadata and check results as on DuckDB."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from assets.ingestion import ALL_FILES_LOADED, RECONCILES, ingestion_assets
from engine.settings import ENGINE_ENV, SparkSettings
from ingestion.landing_files import partition_days
from ingestion.paths import DATA_DIR_ENV, DataPaths
from ingestion.sources import ACTION_LOGS, ALL_SOURCES, REFERENCE
from ingestion.spark_store import SparkStore, store_root
from orchestration.resources import WarehouseResource

pytestmark = [pytest.mark.slow, pytest.mark.extended]  # spark_run loads the sample through these assets on every run

# Figures that measure this run's clock, not the data.
TIMINGS = {"load_seconds", "max_arrival_to_load_seconds", "event_lag_hours"}


def materialize_ingestion(paths: DataPaths) -> dict[str, object]:
    """Every ingestion asset materialized once (the action logs over every day in one run): each materialization's
    metadata (partition by partition) and each check's outcome."""
    days = [d.isoformat() for d in partition_days(paths.landing, ACTION_LOGS.folder)]
    reported: dict[str, object] = {}
    for asset in ingestion_assets:
        tags = ({"dagster/asset_partition_range_start": min(days), "dagster/asset_partition_range_end": max(days)}
                if asset.partitions_def is not None else {})
        result = dg.materialize([asset], resources={"warehouse": WarehouseResource(data_dir=str(paths.root))}, tags=tags)
        assert result.success
        for event in result.get_asset_materialization_events():
            m = event.materialization
            reported[f"{m.asset_key.to_user_string()} {m.partition}"] = {
                k: v.value for k, v in m.metadata.items() if k not in TIMINGS}
        for evaluation in result.get_asset_check_evaluations():
            reported[f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}"] = evaluation.passed
    return reported


def test_the_ingestion_assets_report_the_same_on_spark_and_on_duckdb(spark, small_sample, tmp_path, monkeypatch):
    sides = {}
    for engine in ("duckdb", "spark"):
        paths = DataPaths(tmp_path / engine / "data").ensure()
        shutil.copytree(small_sample / "landing", paths.landing, dirs_exist_ok=True)
        monkeypatch.setenv(ENGINE_ENV, engine)
        monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
        sides[engine] = paths, materialize_ingestion(paths)
    (_, on_duckdb), (_, on_spark) = sides["duckdb"], sides["spark"]
    checks = [k for k in on_duckdb if k.endswith((RECONCILES, ALL_FILES_LOADED))]
    assert len(checks) == 2 * len(ALL_SOURCES) and all(on_duckdb[k] is True for k in checks)
    assert on_spark == on_duckdb

    # They loaded the raw layer everyone reads on Spark (tests/spark/test_ingestion.py compares its rows with DuckDB's).
    root = store_root(SparkSettings.from_env().warehouse)
    assert sorted(p.name for p in (root / "rows").iterdir()) == sorted(s.name for s in ALL_SOURCES)

    # The reconciliation counts the rows in the raw layer's files: rows lost from them fail it.
    users = REFERENCE["users"]
    lost = [f for f in SparkStore(root).rows_dir(users).rglob("*.parquet") if not f.name.startswith((".", "_"))]
    assert lost
    for rows_file in lost:
        rows_file.unlink()
    [asset] = [a for a in ingestion_assets if a.key == dg.AssetKey(["raw", users.name])]
    result = dg.materialize([asset], resources={"warehouse": WarehouseResource(data_dir=str(sides["spark"][0].root))},
                            raise_on_error=False)
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == RECONCILES]
    assert not check.passed
    assert [m["problem"] for m in check.metadata["examples"].value] == [
        f"ledger says {on_spark[f'raw/{users.name} None']['rows_loaded']} loaded, table holds 0"]
