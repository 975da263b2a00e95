"""The analysts' read-only copy of the warehouse, swapped in atomically after each build."""


import json

import dagster as dg

from assets import OWNER
from assets.dbt_models import synergy_dbt_models
from assets.dbt_project import dbt_project
from assets.identity import identity_resolution
from engine.settings import engine
from ingestion.warehouse import publish_snapshot
from orchestration.resources import WarehouseResource
from publishing.dbt_descriptions import model_descriptions, view_models

# What analysts read: the marts, the ingestion audit, the sync's outcome, and identity's review tables.
# Not raw personal data: not the staging layer or the identifier registry (the pipeline's raw material,
# every event and identifier as received; analysts get their content in the marts), not the text of
# quarantined rows (the warehouse keeps it for the data team), and nothing of an erased member.
# The sync's outcome (dead letters, limit warnings, status) is also published on its own after every delivery.
SYNC_OUTCOME = "activation"
ANALYST_RELATIONS = ["marts", "audit", SYNC_OUTCOME, "identity.merge_review", "identity.profile_merges",
                     "identity.rejected_links"]
# The card documents are the PWA's (the card store serves them): about 3.7 KB of JSON a member, whose copy was
# the snapshot's largest cost, and analysts have their content in member_cards, achievement_progress and
# experiment_assignments.
NOT_FOR_ANALYSTS = ("marts.member_card_documents",)
ERASED = "SELECT profile_id FROM intermediate.int_identity__erased_profiles"
ANALYST_SELECTS = {
    "audit.quarantine": "SELECT * EXCLUDE (raw) FROM audit.quarantine",
    "identity.merge_review": "SELECT * FROM identity.merge_review WHERE NOT list_has_any(matched_profile_ids, "
                             "(SELECT coalesce(list(profile_id), []) FROM intermediate.int_identity__erased_profiles))",
    "identity.profile_merges": f"SELECT * FROM identity.profile_merges WHERE profile_id NOT IN ({ERASED}) AND merged_profile_id NOT IN ({ERASED})",
    # A rejected link is a record of one profile offering an identifier kept by another: neither may be erased.
    "identity.rejected_links": f"""SELECT * FROM identity.rejected_links AS r WHERE kept_in_profile_id NOT IN ({ERASED})
        AND NOT EXISTS (SELECT 1 FROM identity.identifier_profiles AS p WHERE p.brand_id = r.brand_id
            AND p.id_type = r.id_type AND p.value = r.value AND p.profile_id IN ({ERASED}))
        AND NOT EXISTS (SELECT 1 FROM identity.record_profiles AS rp WHERE rp.source = r.source
            AND rp.brand_id = r.brand_id AND rp.record_id = r.record_id AND rp.profile_id IN ({ERASED}))""",
}


@dg.asset(
    key="analytics_snapshot",
    deps=[synergy_dbt_models, identity_resolution],
    group_name="publishing",
    kinds={"duckdb"},
    owners=[OWNER],
    pool="warehouse",
    description=(
        "data/analytics.duckdb: a copy of the marts (views and the card documents excepted), the ingestion audit "
        "(without the text of quarantined rows), the sync's outcome and identity's review tables (without erased "
        "members), written to a temporary file and renamed into place. Analysts open this file, never "
        "warehouse.duckdb, so their sessions cannot block a run; a session left open keeps reading the previous copy "
        "until it reconnects."
    ),
)
def analytics_snapshot(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths
    # The dbt descriptions come from the manifest: on Spark the warehouse's relations are views over Spark's files
    # (copied as tables), which carry no comments.
    manifest = json.loads(dbt_project.manifest_path.read_text())
    with warehouse.connect() as con:
        counts = publish_snapshot(paths.warehouse, paths.analytics, ANALYST_RELATIONS, ANALYST_SELECTS, con=con,
                                  views_as_tables=engine() == "spark", descriptions=model_descriptions(manifest),
                                  excluded=[*view_models(manifest), *NOT_FOR_ANALYSTS])
    context.log.info(f"published {len(counts)} relations to {paths.analytics}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(paths.analytics)),
        "relations": len(counts),
        "rows": dg.MetadataValue.json(counts),
        "size_bytes": paths.analytics.stat().st_size,
    })
