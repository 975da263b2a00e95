"""The one Definitions of the platform (loaded by workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from assets.analytics_snapshot import analytics_snapshot
from assets.card_publishing import card_snapshots
from assets.customerio_pulls import (
    customerio_people_export,
    daily_people_export,
    pull_people_export_job,
)
from assets.customerio_sync import customerio_outbound_queue, customerio_sync, customerio_sync_outcome
from assets.dbt_docs import dbt_docs
from assets.dbt_models import dbt_resource, synergy_dbt_models
from assets.erasure import erasures
from assets.feature_checks import key_features_stable, predictions_fresh
from assets.identity import identity_resolution
from assets.ingestion import ingestion_assets
from assets.prediction_checks import churn_auc_stable
from orchestration.jobs import activate_job, build_all_job
from orchestration.resources import default_warehouse
from orchestration.schedules import nightly_build
from orchestration.sensors import activation_automation, dead_runs_sensor, landing_files_sensor

defs = dg.Definitions(
    assets=[*ingestion_assets, synergy_dbt_models, identity_resolution, erasures, analytics_snapshot, dbt_docs,
            customerio_outbound_queue, customerio_sync, customerio_sync_outcome, card_snapshots, customerio_people_export],
    asset_checks=[key_features_stable, predictions_fresh, churn_auc_stable],
    jobs=[build_all_job, activate_job, pull_people_export_job],
    schedules=[nightly_build, daily_people_export],
    sensors=[landing_files_sensor, activation_automation, dead_runs_sensor],
    resources={"warehouse": default_warehouse(), "dbt": dbt_resource()},
)
