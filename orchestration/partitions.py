"""Daily partitions of the action logs: one per dt=YYYY-MM-DD landing folder (UTC), starting where the data starts."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

import dagster as dg

from ingestion.landing_files import partition_days
from ingestion.paths import DataPaths
from ingestion.sources import ACTION_LOGS

PARTITIONS_START_ENV = "SYNERGY_PARTITIONS_START"


def partitions_start(environ: Mapping[str, str] = os.environ) -> str:
    """SYNERGY_PARTITIONS_START if set; else the earliest dt= folder holding a complete action-log file;
    else today (UTC), so an empty landing zone shows no history of missing days. Read when the code
    location loads: history landed before the earliest folder shows after a reload."""
    if environ.get(PARTITIONS_START_ENV):
        return environ[PARTITIONS_START_ENV]
    days = partition_days(DataPaths.from_env(environ).landing, ACTION_LOGS.folder)
    return (days[0] if days else datetime.now(UTC).date()).isoformat()


daily_partitions = dg.DailyPartitionsDefinition(
    start_date=partitions_start(),
    end_offset=1,  # today's folder fills up during the day
)
