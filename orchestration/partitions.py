"""Daily partitions of the action logs: one per dt=YYYY-MM-DD landing folder (UTC)."""

from __future__ import annotations

import os

import dagster as dg

PARTITIONS_START_ENV = "SYNERGY_PARTITIONS_START"

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(PARTITIONS_START_ENV, "2024-01-01"),
    end_offset=1,  # today's folder fills up during the day
)
