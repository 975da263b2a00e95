"""The analysts' read-only copy of the warehouse, swapped in atomically after each build."""


import dagster as dg

from assets import OWNER
from assets.dbt_models import synergy_dbt_models
from assets.identity import identity_resolution
from ingestion.warehouse import publish_snapshot
from orchestration.resources import WarehouseResource

# What analysts read: the marts, the ingestion audit, the sync's outcome, and identity's review tables.
# Not the staging layer or the identifier registry: they are the pipeline's raw material (every event and
# identifier as received), large, and analysts get their content in the marts.
ANALYST_RELATIONS = ["marts", "audit", "activation", "identity.merge_review", "identity.profile_merges",
                     "identity.rejected_links"]


@dg.asset(
    key="analytics_snapshot",
    deps=[synergy_dbt_models, identity_resolution],
    group_name="publishing",
    kinds={"duckdb"},
    owners=[OWNER],
    pool="warehouse",
    description=(
        "data/analytics.duckdb: a copy of the marts (views excepted), the ingestion audit, the sync's outcome and "
        "identity's review tables, written to a temporary file and renamed into "
        "place. Analysts open this file, never warehouse.duckdb, so their sessions cannot block a run; a session left "
        "open keeps reading the previous copy until it reconnects."
    ),
)
def analytics_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths
    counts = publish_snapshot(paths.warehouse, paths.analytics, ANALYST_RELATIONS)
    context.log.info(f"published {len(counts)} relations to {paths.analytics}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(paths.analytics)),
        "relations": len(counts),
        "rows": dg.MetadataValue.json(counts),
        "size_bytes": paths.analytics.stat().st_size,
    })
