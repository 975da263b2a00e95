"""Inbound pulls from Customer.io's App API: the people export, landed for the ingestion assets."""

import dagster as dg

from assets import OWNER
from ingestion.customerio_exports import AppApiSettings, pull_people_export
from orchestration.resources import WarehouseResource


class PeopleExportConfig(dg.Config):
    poll_interval_seconds: float = 5.0
    timeout_minutes: int = 30


@dg.asset(
    key=["landing", "customerio_people_export"],
    group_name="ingestion",
    kinds={"python", "customerio"},
    owners=[OWNER],
    tags={"synergy/pull": "customerio"},
    description=(
        "Requests a people export from Customer.io's App API (CUSTOMERIO_APP_API_KEY), polls it within the 10 "
        "requests/s limit, downloads it and lands it in customerio/exports/, where the landing sensor and the "
        "raw/customerio_exports asset load it. Skipped when no App API key is configured."
    ),
)
def customerio_people_export(context: dg.AssetExecutionContext, config: PeopleExportConfig,
                             warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = AppApiSettings.from_env()
    if not settings.configured:
        context.log.info("no Customer.io App API key configured: nothing to pull")
        return dg.MaterializeResult(metadata={"pulled": False, "reason": "CUSTOMERIO_APP_API_KEY not set"})
    landed = pull_people_export(settings.base_url, settings.api_key, warehouse.paths.landing,
                                poll_interval=config.poll_interval_seconds, timeout=config.timeout_minutes * 60)
    return dg.MaterializeResult(metadata={
        "pulled": True,
        "path": dg.MetadataValue.path(str(landed)),
        "size_bytes": landed.stat().st_size,
    })


pull_people_export_job = dg.define_asset_job(
    "pull_customerio_people_export", selection=[customerio_people_export],
    description="Pull a people export from Customer.io's App API into the landing zone.")
daily_people_export = dg.ScheduleDefinition(
    name="daily_people_export", job=pull_people_export_job, cron_schedule="0 1 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily, before the nightly build, when an App API key is configured.")
