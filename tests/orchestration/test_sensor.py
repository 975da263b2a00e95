"""The landing sensor requests a build for the partitions that received complete files."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from orchestration.resources import WarehouseResource
from tests.ingestion.helpers import event, write_lines


@pytest.fixture(scope="module")
def sensor(dbt_manifest):
    from orchestration.sensors import landing_files_sensor

    return landing_files_sensor


def evaluate(sensor, cursor, data_dir):
    context = dg.build_sensor_context(cursor=cursor, resources={"warehouse": WarehouseResource(data_dir=str(data_dir.root))})
    return sensor(context), context.cursor


def test_new_files_request_one_run_over_their_partitions(sensor, data_dir):
    result, cursor = evaluate(sensor, None, data_dir)
    assert isinstance(result, dg.SkipReason)

    write_lines(data_dir.landing / "app/action_logs/dt=2026-11-18/a.ndjson", [event("a")])
    write_lines(data_dir.landing / "app/action_logs/dt=2026-11-19/b.ndjson", [event("b")])
    (data_dir.landing / "app/action_logs/dt=2026-11-20").mkdir(parents=True)
    (data_dir.landing / "app/action_logs/dt=2026-11-20/c.ndjson.tmp").write_text(json.dumps(event("c")) + "\n")
    request, cursor = evaluate(sensor, cursor, data_dir)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-18"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-19"
    assert request.tags["synergy/new_files"] == "2"

    again, cursor2 = evaluate(sensor, cursor, data_dir)
    assert isinstance(again, dg.SkipReason) and cursor2 == cursor

    # The producer renames its finished temporary file: mtime stays old, ctime moves.
    tmp = data_dir.landing / "app/action_logs/dt=2026-11-20/c.ndjson.tmp"
    tmp.rename(tmp.with_name("c.ndjson"))
    request, _ = evaluate(sensor, cursor, data_dir)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-20"


def test_reference_files_alone_build_the_latest_partition(sensor, data_dir):
    from orchestration.partitions import daily_partitions

    write_lines(data_dir.landing / "app/reference/ranks/ranks-20261120T000000Z.ndjson",
                [{"id": 1, "brand_id": 1, "key": "gold", "name": "Gold", "points_required": 1}])
    request, _ = evaluate(sensor, None, data_dir)
    assert request.tags["dagster/asset_partition_range_end"] == daily_partitions.get_last_partition_key()
