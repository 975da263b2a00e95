"""The card snapshot store the PWA card server reads, published from the dbt card documents mart."""


from datetime import timedelta

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets import OWNER
from assets.automation import AFTER_UPSTREAM_REBUILT_AND_CHECKED
from assets.dbt_docs import current_project_fingerprint
from assets.dbt_models import synergy_dbt_models
from orchestration.resources import WarehouseResource
from publishing.card_store import database_path, disk_usage
from publishing.publish import publish_from_warehouse


class CardPublishingConfig(dg.Config):
    retention_hours: int = 72  # older versions (beyond the current and previous) are garbage collected


@dg.asset(
    key="card_snapshots",
    deps=[get_asset_key_for_model([synergy_dbt_models], "member_card_documents")],
    group_name="publishing",
    kinds={"python", "sqlite"},
    owners=[OWNER],
    pool="warehouse",
    automation_condition=AFTER_UPSTREAM_REBUILT_AND_CHECKED,
    description=(
        "data/cards/cards.sqlite: versioned, content-addressed card documents (one per member). Every document is "
        "validated against docs/schemas/cards/member_cards.schema.json; only changed documents are rewritten and the "
        "new version is switched in atomically, so the card server sees the old set or the new one, never a mix."
    ),
)
def card_snapshots(context: dg.AssetExecutionContext, config: CardPublishingConfig,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    cards_root = warehouse.paths.cards
    # Documents are built again only where their inputs changed, or everywhere once the project that builds them did.
    definition = current_project_fingerprint()
    with warehouse.connect() as con:
        result = publish_from_warehouse(con, cards_root, retention=timedelta(hours=config.retention_hours),
                                        definition=definition)
    context.log.info(f"card snapshots: {result}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(database_path(cards_root))),
        "version": result.version,
        "members_published": result.members,
        "documents_built": result.built,
        "changed": result.changed,
        "removed": result.removed,
        "erased": result.erased,
        "bytes_written": result.bytes_written,
        "seconds": result.seconds,
        "store_size_bytes": disk_usage(cards_root),
    })
