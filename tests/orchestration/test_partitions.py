"""Action-log partitions start where the data starts, and each partition reports its own counts."""

from __future__ import annotations

import pytest

import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime

import dagster as dg

from ingestion.paths import DATA_DIR_ENV, PROJECT_ROOT
from ingestion.sources import ACTION_LOGS
from orchestration.partitions import PARTITIONS_START_ENV, partitions_start
from tests.ingestion.helpers import event, write_lines

FIRST_KEY = """
import json
import dagster as dg
from orchestration.definitions import defs
node = defs.resolve_asset_graph().get(dg.AssetKey(["raw", "app_action_logs"]))
print(json.dumps(node.partitions_def.get_first_partition_key()))
"""


def first_partition_of_the_definitions(data_root, **extra_env) -> str:
    """The Definitions as the UI loads them: a fresh process, configured only by the environment."""
    env = {k: v for k, v in os.environ.items() if k != PARTITIONS_START_ENV}
    env.update({DATA_DIR_ENV: str(data_root), **extra_env})
    out = subprocess.run([sys.executable, "-c", FIRST_KEY], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_partitions_start_at_the_earliest_landing_folder(tmp_path, dbt_manifest):
    landing = tmp_path / "data" / "landing" / ACTION_LOGS.folder
    write_lines(landing / "dt=2026-11-05" / "b.ndjson", [event("b1")])
    write_lines(landing / "dt=2026-11-03" / "a.ndjson", [event("a1")])
    (landing / "dt=2026-10-01").mkdir()  # an empty folder is no data
    write_lines(landing / "dt=2026-09-30" / "c.ndjson.tmp", [event("c1")])  # nor is a file still being written

    assert first_partition_of_the_definitions(tmp_path / "data") == "2026-11-03"
    overridden = first_partition_of_the_definitions(tmp_path / "data", **{PARTITIONS_START_ENV: "2026-10-20"})
    assert overridden == "2026-10-20"


def test_an_empty_landing_zone_starts_today(tmp_path):
    before = datetime.now(UTC).date().isoformat()
    start = partitions_start({DATA_DIR_ENV: str(tmp_path / "nothing")})
    after = datetime.now(UTC).date().isoformat()
    assert start in {before, after}


def materialize_action_logs(data_dir, first: str, last: str,
                            instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    from assets.ingestion import build_ingestion_asset
    from orchestration.resources import WarehouseResource
    from orchestration.sensors import partition_range_tags

    return dg.materialize([build_ingestion_asset(ACTION_LOGS)], resources={"warehouse": WarehouseResource()},
                          instance=instance or dg.DagsterInstance.ephemeral(), tags=partition_range_tags(first, last))


def by_partition(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {e.materialization.partition: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def test_each_partition_of_a_backfill_reports_its_own_folder(data_dir):
    logs = data_dir.landing / ACTION_LOGS.folder
    write_lines(logs / "dt=2026-11-18" / "a.ndjson", [event("a1"), event("a2"), "{not json"])
    write_lines(logs / "dt=2026-11-19" / "b.ndjson", [event("b1"), event("b2"), event("b3")])
    write_lines(logs / "dt=2026-11-19" / "c.ndjson", [event("b1"), event("c1")])  # b1 re-sent

    instance = dg.DagsterInstance.ephemeral()
    run = materialize_action_logs(data_dir, "2026-11-17", "2026-11-19", instance)
    # Every file's result is in the run's log, one debug line per folder.
    logged = [json.loads(e.user_message) for e in instance.all_logs(run.run_id)
              if e.level == logging.DEBUG and e.user_message.startswith("[{")]
    assert [[(f["partition"], f["path"].rsplit("/", 1)[1], f["status"]) for f in line] for line in logged] == [
        [("2026-11-18", "a.ndjson", "loaded")], [("2026-11-19", "b.ndjson", "loaded"), ("2026-11-19", "c.ndjson", "loaded")]]
    first = by_partition(run)
    assert set(first) == {"2026-11-17", "2026-11-18", "2026-11-19"}
    own = {key: {k: meta[k] for k in ("files_loaded", "rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate",
                                      "dagster/row_count", "quarantine_by_reason")} for key, meta in first.items()}
    assert own == {
        "2026-11-17": {"files_loaded": 0, "rows_read": 0, "rows_loaded": 0, "rows_quarantined": 0, "rows_duplicate": 0,
                       "dagster/row_count": 0, "quarantine_by_reason": {}},
        "2026-11-18": {"files_loaded": 1, "rows_read": 3, "rows_loaded": 2, "rows_quarantined": 1, "rows_duplicate": 0,
                       "dagster/row_count": 2, "quarantine_by_reason": {"malformed_json": 1}},
        "2026-11-19": {"files_loaded": 2, "rows_read": 5, "rows_loaded": 4, "rows_quarantined": 0, "rows_duplicate": 1,
                       "dagster/row_count": 4, "quarantine_by_reason": {}},
    }
    # What every partition shares is about the whole table and run, under names that say so.
    assert {meta["table_row_count"] for meta in first.values()} == {6}
    assert {meta["run_partitions"] for meta in first.values()} == {"2026-11-17..2026-11-19 (3)"}

    # A late file in an old folder: that partition's run reports the one new file, and holds all its rows.
    write_lines(logs / "dt=2026-11-18" / "late.ndjson", [event("l1")])
    [(key, late)] = by_partition(materialize_action_logs(data_dir, "2026-11-18", "2026-11-18")).items()
    assert key == "2026-11-18"
    assert (late["files_seen"], late["rows_loaded"], late["dagster/row_count"]) == (1, 1, 3)
    assert late["quarantine_by_reason"] == {"malformed_json": 1}
