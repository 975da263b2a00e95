"""Sensors: a build when complete files arrive in the landing zone; activation when its marts are
rebuilt; and the release of runs whose process died."""


import json

import dagster as dg

from ingestion.landing_files import discover
from ingestion.sources import ACTION_LOGS, ALL_SOURCES
from orchestration.dead_runs import release_dead_runs
from orchestration.jobs import ACTIVATION, build_all_job
from orchestration.partitions import daily_partitions
from orchestration.resources import WarehouseResource


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def clamp_to_partitions(keys: set[str]) -> set[str]:
    existing = set(daily_partitions.get_partition_keys())
    return keys & existing


@dg.sensor(job=build_all_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED)
def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """The cursor is the newest ctime seen (a rename into place updates ctime, not mtime, so
    files written earlier under a temporary name are noticed when they land) and the files
    seen at exactly that ctime, so one landing in the same clock tick is not missed."""
    cursor = json.loads(context.cursor) if context.cursor else {"ctime_ns": 0, "at_ctime": []}
    seen_at = set(cursor.get("at_ctime", []))
    landing = warehouse.paths.landing
    new = [f for s in ALL_SOURCES for f in discover(landing, s.folder)
           if f.changed_ns > cursor["ctime_ns"] or (f.changed_ns == cursor["ctime_ns"] and f.relative not in seen_at)]
    if not new:
        return dg.SkipReason("no new landing files")
    newest = max(f.changed_ns for f in new)
    at_newest = sorted({f.relative for f in new if f.changed_ns == newest}
                       | (seen_at if newest == cursor["ctime_ns"] else set()))
    days = clamp_to_partitions({f.partition for f in new if f.relative.startswith(ACTION_LOGS.folder + "/")})
    if not days:
        days = {daily_partitions.get_last_partition_key()}
    context.update_cursor(json.dumps({"ctime_ns": newest, "at_ctime": at_newest}))
    return dg.RunRequest(
        run_key=f"landing-{newest}",
        tags={**partition_range_tags(min(days), max(days)), "synergy/new_files": str(len(new))},
    )


# Evaluates the automation conditions of the activation assets: the Customer.io sync and the card
# snapshots run once the marts they read were rebuilt and their blocking checks passed.
activation_automation = dg.AutomationConditionSensorDefinition(
    "activation_automation",
    target=ACTIVATION,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def dead_runs_sensor(context: dg.SensorEvaluationContext):
    """Housekeeping, on by default: a killed run's pool slots come back without an operator."""
    released = release_dead_runs(context.instance)
    return dg.SkipReason(f"released dead runs {released}" if released else "no dead runs")
