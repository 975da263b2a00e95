"""Jobs. Steps run in process, one after another: every step writes the same DuckDB file."""

from __future__ import annotations

import dagster as dg

from assets.card_publishing import card_snapshots
from assets.customerio_sync import customerio_outbound_queue, customerio_sync, customerio_sync_outcome

# What leaves the warehouse: the Customer.io sync (and its outcome, for analysts) and the card snapshots.
# They are not part of the build; the automation sensor starts them once the marts they read were rebuilt and checked.
ACTIVATION = dg.AssetSelection.assets(customerio_outbound_queue, customerio_sync, customerio_sync_outcome, card_snapshots)
# Inbound pulls from Customer.io's App API run on their own schedule.
CUSTOMERIO_PULLS = dg.AssetSelection.tag("synergy/pull", "customerio")

build_all_job = dg.define_asset_job(
    "build_all",
    selection=dg.AssetSelection.all() - ACTIVATION - CUSTOMERIO_PULLS,
    description="Ingest new landing files, build every dbt model and its checks, publish the analyst snapshot and the dbt docs.",
    executor_def=dg.in_process_executor,
)

activate_job = dg.define_asset_job(
    "activate",
    selection=ACTIVATION,
    description="Queue and deliver the Customer.io sync, publish its outcome to the analyst snapshot, and publish the "
                "card snapshots (dry run without credentials).",
    executor_def=dg.in_process_executor,
)
