"""Jobs. Steps run in process, one after another: every step writes the same DuckDB file."""

from __future__ import annotations

import dagster as dg

build_all_job = dg.define_asset_job(
    "build_all",
    selection=dg.AssetSelection.all(),
    description="Ingest new landing files, build every dbt model and its checks, publish the analyst snapshot.",
    executor_def=dg.in_process_executor,
)
