"""The dbt docs site for analysts: one self-contained file, generated from the warehouse when the project changed."""

import json
import os
import tempfile
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from assets import OWNER
from assets.dbt_models import release_spark_metastore, synergy_dbt_models
from assets.dbt_project import dbt_environment, dbt_project
from engine.settings import engine
from ingestion.durable import sync_into_place
from orchestration.resources import WarehouseResource
from publishing import docs_site


class DocsConfig(dg.Config):
    regenerate: bool = False  # generate the site even if it already documents this project


# The engine's packages and dbt's adapter for it: an upgrade of either may change the column types the site shows.
ENGINE_PACKAGES = {"duckdb": ("duckdb", "dbt-duckdb"), "spark": ("pyspark", "dbt-spark")}


def engine_release() -> str:
    """The engine and the versions of its packages, e.g. "duckdb duckdb==2.0.0 dbt-duckdb==1.11.1"."""
    name = engine()
    return " ".join([name, *(f"{package}=={installed_version(package)}" for package in ENGINE_PACKAGES[name])])


def current_project_fingerprint() -> str:
    """docs_site.project_fingerprint of the dbt project as parsed now, on this engine."""
    return docs_site.project_fingerprint(json.loads(dbt_project.manifest_path.read_text()), engine_release())


@dg.asset(
    key="dbt_docs",
    deps=[synergy_dbt_models],
    group_name="publishing",
    kinds={"dbt", "html"},
    owners=[OWNER],
    pool="warehouse",
    description=(
        "data/docs/index.html: the dbt docs site (every model, its description, columns with their types and "
        "descriptions, tests and lineage) as one file with the manifest and the catalog inside "
        "(`dbt docs generate --static`). It opens from disk in a browser; nobody needs the warehouse to read it. "
        "A build generates it when the dbt project differs from the one it documents (data alone changes nothing "
        "it shows, except on Spark the table sizes, which are those of its generation); `regenerate: true` forces it."
    ),
)
def dbt_docs(context: dg.AssetExecutionContext, config: DocsConfig, dbt: DbtCliResource,
             warehouse: WarehouseResource) -> dg.MaterializeResult:
    site = warehouse.paths.docs
    target = site / "index.html"
    fingerprint = current_project_fingerprint()
    regenerate = config.regenerate or not docs_site.documents(site, fingerprint)
    if regenerate:
        os.environ.update(dbt_environment(warehouse.paths.warehouse))
        release_spark_metastore()
        site.mkdir(parents=True, exist_ok=True)
        docs_site.forget(site)
        # dbt's artifacts go to a temporary folder beside the site, so the rename into place is atomic.
        with tempfile.TemporaryDirectory(dir=site, prefix=".dbt-docs-") as artifacts:
            dbt.cli(["docs", "generate", "--static"], target_path=Path(artifacts)).wait()
            sync_into_place(Path(artifacts) / "static_index.html", target)
        docs_site.record(site, fingerprint)
        context.log.info(f"dbt docs written to {target}")
    else:
        context.log.info(f"dbt docs at {target} already document this project (fingerprint {fingerprint[:12]})")
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(target)), "size_bytes": target.stat().st_size,
                  "regenerated": regenerate, "project_fingerprint": fingerprint},
        data_version=dg.DataVersion(fingerprint))
