"""The dbt docs site for analysts: one self-contained file, generated from the warehouse by every build."""

import os
import tempfile
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from assets import OWNER
from assets.dbt_models import release_spark_metastore, synergy_dbt_models
from assets.dbt_project import dbt_environment
from ingestion.durable import sync_into_place
from orchestration.resources import WarehouseResource


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
        "(`dbt docs generate --static`). It opens from disk in a browser; nobody needs the warehouse to read it."
    ),
)
def dbt_docs(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths
    os.environ.update(dbt_environment(paths.warehouse))
    release_spark_metastore()
    target = paths.docs / "index.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    # dbt's artifacts go to a temporary folder beside the site, so the rename into place is atomic.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".dbt-docs-") as artifacts:
        dbt.cli(["docs", "generate", "--static"], target_path=Path(artifacts)).wait()
        sync_into_place(Path(artifacts) / "static_index.html", target)
    context.log.info(f"dbt docs written to {target}")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(target)),
                                          "size_bytes": target.stat().st_size})
