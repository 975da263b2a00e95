"""The one Definitions of the platform (loaded by workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from assets.analytics_snapshot import analytics_snapshot
from assets.dbt_models import dbt_resource, synergy_dbt_models
from assets.feature_checks import key_features_stable, predictions_fresh
from assets.identity import identity_resolution
from assets.ingestion import ingestion_assets
from orchestration.jobs import build_all_job
from orchestration.resources import default_warehouse
from orchestration.schedules import nightly_build
from orchestration.sensors import landing_files_sensor

defs = dg.Definitions(
    assets=[*ingestion_assets, synergy_dbt_models, identity_resolution, analytics_snapshot],
    asset_checks=[key_features_stable, predictions_fresh],
    jobs=[build_all_job],
    schedules=[nightly_build],
    sensors=[landing_files_sensor],
    resources={"warehouse": default_warehouse(), "dbt": dbt_resource()},
)
