"""Run the build_all job (and the activation job) in process, as the sensors would."""

from __future__ import annotations

import dagster as dg

from ingestion.landing_files import partition_days
from ingestion.paths import DataPaths
from ingestion.sources import ACTION_LOGS


def build_all(data_dir: DataPaths, instance: dg.DagsterInstance | None = None,
              dbt_vars: dict | None = None, full_refresh: bool = False) -> dg.ExecuteInProcessResult:
    """`dbt_vars` and `full_refresh` as `synergy run --dbt-vars ... --full-refresh` passes them."""
    from orchestration.cli import dbt_run_config
    from orchestration.definitions import defs
    from orchestration.sensors import partition_range_tags

    days = [d.isoformat() for d in partition_days(data_dir.landing, ACTION_LOGS.folder)]
    return defs.resolve_job_def("build_all").execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(), tags=partition_range_tags(min(days), max(days)),
        run_config=dbt_run_config(dbt_vars or {}, full_refresh))


def activate(instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    return defs.resolve_job_def("activate").execute_in_process(instance=instance or dg.DagsterInstance.ephemeral())
