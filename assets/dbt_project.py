"""The dbt project and how to prepare its manifest (importable before the manifest exists)."""

import os
from pathlib import Path

from dagster_dbt import DbtProject
from dbt.cli.main import dbtRunner

from ingestion.paths import PROJECT_ROOT
from ingestion.warehouse import MEMORY_LIMIT_ENV, TEMP_DIR_ENV, THREADS_ENV, duckdb_settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
WAREHOUSE_PATH_ENV = "SYNERGY_WAREHOUSE_PATH"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


def prepare_dbt_manifest() -> None:
    """`dbt parse`: writes target/manifest.json, which the Definitions read at import time."""
    result = dbtRunner().invoke(
        ["parse", "--quiet", "--project-dir", os.fspath(DBT_PROJECT_DIR), "--profiles-dir", os.fspath(DBT_PROJECT_DIR)]
    )
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")


def dbt_environment(warehouse: Path) -> dict[str, str]:
    """What profiles.yml reads from the environment: the warehouse file and the platform's DuckDB settings."""
    settings = duckdb_settings(warehouse)
    return {WAREHOUSE_PATH_ENV: os.fspath(warehouse), MEMORY_LIMIT_ENV: settings["memory_limit"],
            THREADS_ENV: settings["threads"], TEMP_DIR_ENV: settings["temp_directory"]}
