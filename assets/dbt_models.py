"""The dbt project as Dagster assets with row counts; dbt data tests become asset checks that say what they check."""

import json
import os
import sys
from collections.abc import Mapping, Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from packaging.version import Version

from assets import OWNER
from assets.dbt_project import dbt_environment, dbt_project, tidy_invocation_target
from assets.dbt_metric_metadata import with_metric_metadata
from assets.dbt_row_counts import with_row_counts
from assets.dbt_test_descriptions import describe_test
from engine.settings import engine
from orchestration.resources import WarehouseResource


# Dagster splits the dbt assets into one step (one dbt invocation) per stretch between the other assets they wait
# for: ingestion, then identity resolution and erasure. Seeds wait for nothing, so they made a step of their own,
# before ingestion: a dbt invocation of its own costs 4 to 6 s of every run at any scale for about 1 s of seeding.
# Waiting for the action logs' ingestion, as the staging models do, puts them in the staging models' step.
SEEDS_BUILD_AFTER = dg.AssetKey(["raw", "app_action_logs"])


class SynergyDbtTranslator(DagsterDbtTranslator):
    """Groups by folder: staging models by layer, intermediate and mart models by domain (identity,
    customer_360, features ...); everything is owned by the data team. Seeds build with the staging models
    (SEEDS_BUILD_AFTER)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id, {})
        if node.get("resource_type") not in ("model", "seed"):
            return spec
        folders = node["fqn"][1:-1]
        if not folders:
            folder = "marts"
        elif folders[0] in ("intermediate", "marts") and len(folders) > 1:
            folder = folders[1]
        else:
            folder = folders[0]
        spec = spec.replace_attributes(group_name=folder, owners=[OWNER], kinds={"dbt", "duckdb"})
        return spec.merge_attributes(deps=[SEEDS_BUILD_AFTER]) if node["resource_type"] == "seed" else spec

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_test(manifest, manifest["nodes"][unique_id]))


class DbtBuildConfig(dg.Config):
    vars: dict[str, Any] = {}  # `dbt build --vars`, e.g. {"as_of": "2026-01-01"}; none: dbt_project.yml's
    full_refresh: bool = False  # `dbt build --full-refresh`: incremental models rebuilt from all their input


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=SynergyDbtTranslator(),
    pool="warehouse",
)
def synergy_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource,
                       config: DbtBuildConfig):
    """Every dbt model and its tests, built with `dbt build` against the warehouse file."""
    os.environ.update(dbt_environment(warehouse.paths.warehouse))
    release_spark_metastore()
    options = (["--vars", json.dumps(config.vars)] if config.vars else []) + (["--full-refresh"] if config.full_refresh else [])
    # Unit tests pin the SQL on fixed inputs, so they prove nothing new on a build's data: the test suite runs
    # them (tests/identity/test_identity_build.py), and a build skips them (6 s of every build at 100k members).
    invocation = dbt.cli(["build", "--exclude-resource-type", "unit_test", *options], context=context)
    try:
        read = lambda: warehouse.connect(read_only=True)  # noqa: E731 - opened once dbt has finished
        built = with_row_counts(invocation.stream(), invocation.manifest, read)
        yield from with_metric_metadata(built, invocation.manifest, read)
    finally:
        tidy_invocation_target(invocation.target_path)


def release_spark_metastore() -> None:
    """On Spark, dbt runs in a process of its own that opens the Derby metastore, which admits one process: the
    session an earlier Python step (ingestion, identity resolution, erasure) left running here ends first."""
    if engine() == "spark":
        from engine.spark import release_metastore

        release_metastore()


class InstalledDbtCliResource(DbtCliResource):
    """dagster-dbt learns which dbt it runs from `dbt --version`, a process of its own at the first dbt step of every
    run: 4 s, and 14 s on Spark, where the wrapper starts a session. The dbt it runs is the installed dbt-core's."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        """dagster-dbt also loads dbt's adapter, with every macro of the project, into this process at each dbt
        invocation (1.5 to 3 s each), only for its fetch_row_counts() and fetch_column_metadata(). The steps use
        neither (assets/dbt_row_counts.py counts on a connection of its own), and an invocation without an
        adapter runs the same."""
        return None


def dbt_resource() -> DbtCliResource:
    # The dbt installed beside this interpreter, so a venv works without being activated. On Spark, its wrapper
    # that first registers the identity functions in the Spark session dbt-spark will use (docs/spark.md).
    command = "synergy-dbt-spark" if engine() == "spark" else "dbt"
    beside = Path(sys.executable).with_name(command)
    return InstalledDbtCliResource(project_dir=dbt_project,
                                   dbt_executable=os.fspath(beside) if beside.exists() else command)
