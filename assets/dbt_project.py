"""The dbt project and how to prepare its manifest (importable before the manifest exists)."""

import os

from dagster_dbt import DbtProject
from dbt.cli.main import dbtRunner

from ingestion.paths import PROJECT_ROOT

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


def prepare_dbt_manifest() -> None:
    """`dbt parse`: writes target/manifest.json, which the Definitions read at import time."""
    result = dbtRunner().invoke(
        ["parse", "--quiet", "--project-dir", os.fspath(DBT_PROJECT_DIR), "--profiles-dir", os.fspath(DBT_PROJECT_DIR)]
    )
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
