"""Nightly build of yesterday's partition (late files are picked up by the landing sensor)."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import build_all_job

nightly_build = dg.build_schedule_from_partitioned_job(build_all_job, hour_of_day=2, minute_of_hour=15)
