"""Nightly build of yesterday's partition (late files are picked up by the landing sensor)."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from orchestration.jobs import build_all_job
from orchestration.partitions import daily_partitions


@dg.schedule(job=build_all_job, cron_schedule="15 2 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def nightly_build(context: dg.ScheduleEvaluationContext):
    """build_all at 02:15 UTC for yesterday's dt= folder, complete by then (a file lands in the folder of the
    UTC day it was written). Stopped until switched on; it ticks only while the Dagster daemon runs."""
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    if not daily_partitions.has_partition_key(day):
        return dg.SkipReason(f"{day} is before the first partition {daily_partitions.get_first_partition_key()}")
    return dg.RunRequest(run_key=day, partition_key=day)
