"""The Customer.io sync as Dagster assets: queue what changed, deliver it, watch the lag."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from activation.outbox import Outbox
from activation.reporting import mirror_to_warehouse
from activation.sync import DeliveryOptions, deliver_everything, enqueue_everything
from activation.sync_state import SyncState
from assets import OWNER
from assets.analytics_snapshot import SYNC_OUTCOME
from assets.automation import AFTER_UPSTREAM_REBUILT_AND_CHECKED
from assets.dbt_models import synergy_dbt_models
from ingestion.warehouse import publish_snapshot
from orchestration.resources import WarehouseResource

ACTIVATION_MARTS = [get_asset_key_for_model([synergy_dbt_models], name)
                    for name in ("customerio_people", "customerio_events", "customerio_erasures")]


def sync_state(warehouse: WarehouseResource) -> SyncState:
    return SyncState(warehouse.paths.activation / "sync_state.sqlite")


class QueueConfig(dg.Config):
    erasure_action: str = "suppress"  # or "delete": what an erasure request becomes in Customer.io
    # A new stream starts with the events that occurred this long before its newest one (campaigns only
    # trigger on events under 72 hours old); 0 sends the whole history.
    backfill_hours: int = 72


class DeliveryConfig(dg.Config):
    requests_per_second: float = 100  # per workspace's credentials
    concurrency: int = 8  # batches in flight per workspace
    timeout_seconds: float = 10.0
    max_lag_minutes: int = 60  # the freshness check fails when an undelivered event is older than this
    # A dry run's outbox keeps the request bodies written in the last this many days; 0 keeps every one.
    outbox_retention_days: int = 14


@dg.asset(
    key=["activation", "customerio_outbound_queue"],
    deps=ACTIVATION_MARTS,
    group_name="activation",
    kinds={"python", "sqlite"},
    owners=[OWNER],
    pool="warehouse",
    automation_condition=AFTER_UPSTREAM_REBUILT_AND_CHECKED,
    description=(
        "The durable Customer.io outbound queue (data/activation: queue.duckdb and Parquet segments): identifies with only the "
        "attributes that changed since the last delivered one, new behavioural events with deterministic ULIDs, and "
        "suppress/delete for erasure requests (which also scrub the member from the queue and the outbox)."
    ),
)
def customerio_outbound_queue(context: dg.AssetExecutionContext, config: QueueConfig,
                              warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as con, sync_state(warehouse) as state:
        summaries = enqueue_everything(con, state, Outbox(warehouse.paths.outbox), erasure_action=config.erasure_action,
                                       backfill=timedelta(hours=config.backfill_hours) if config.backfill_hours else None)
        counts = state.counts()
    context.log.info(f"queued: {summaries}")

    def total(name: str) -> int:
        return sum(getattr(s, name) for s in summaries)

    return dg.MaterializeResult(metadata={
        "identifies_queued": total("identifies"),
        "people_unchanged": total("people_unchanged"),
        "events_queued": total("events"),
        "events_deduplicated": total("events_already_queued"),
        "erasures": total("erasures"),
        "unsendable_dead_lettered": total("unsendable"),
        "limit_warnings": total("limit_warnings"),
        "pending_items": counts.get("pending", 0),
        "destinations": dg.MetadataValue.json([asdict(s) for s in summaries]),
    })


@dg.asset(
    key=["activation", "customerio_sync"],
    deps=[customerio_outbound_queue],
    group_name="activation",
    kinds={"python", "customerio"},
    owners=[OWNER],
    pool="customerio",
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[dg.AssetCheckSpec(
        "events_synced_within_lag", asset=["activation", "customerio_sync"],
        description="The oldest event not yet delivered became available at most max_lag_minutes ago "
                    "(Customer.io only triggers campaigns on events under 72 hours old).",
        blocking=False)],
    description=(
        "Delivers the outbound queue to each brand's Customer.io workspace (Track API v2 batches) or, without "
        "credentials, writes the exact bodies to data/outbox. 207 item errors are dead-lettered with their reason; "
        "429/5xx/timeouts/resets are retried; a crash resumes from the queue with nothing lost."
    ),
)
def customerio_sync(context: dg.AssetExecutionContext, config: DeliveryConfig, warehouse: WarehouseResource):
    options = DeliveryOptions(config.requests_per_second, config.concurrency, config.timeout_seconds)
    with sync_state(warehouse) as state:
        retention = timedelta(days=config.outbox_retention_days) if config.outbox_retention_days else None
        report = deliver_everything(state, Outbox(warehouse.paths.outbox, retention), options)
        lag = event_lag(state)
        counts = state.counts()
    delivered = sum(d.items_delivered for d in report.deliveries)
    seconds = sum(d.seconds for d in report.deliveries)
    yield dg.MaterializeResult(metadata={
        "items_delivered": delivered,
        "dead_lettered": sum(d.dead_lettered for d in report.deliveries),
        "retries": sum(d.retries for d in report.deliveries),
        "batches": sum(d.batches for d in report.deliveries),
        "items_per_second": round(delivered / seconds, 1) if seconds else 0.0,
        "dry_run_destinations": sum(d.dry_run for d in report.deliveries),
        "outbox_bodies_pruned": report.outbox_bodies_pruned,
        "stranded_items": sum(report.stranded.values()),
        "pending_items": counts.get("pending", 0),
        "dead_letters_total": counts.get("dead", 0),
        "lag_minutes": round(lag.total_seconds() / 60, 2),
    })
    yield lag_check(lag, timedelta(minutes=config.max_lag_minutes))


@dg.asset(
    key=["activation", "customerio_sync_outcome"],
    deps=[customerio_sync],
    group_name="activation",
    kinds={"duckdb"},
    owners=[OWNER],
    pool="warehouse",
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "The sync's outcome after each delivery, for analysts: activation.dead_letters, activation.limit_warnings and "
        "activation.sync_status, copied from the sync state into the warehouse and into the analyst snapshot "
        "(only the activation schema is replaced, atomically; the marts stay those of the last build)."
    ),
)
def customerio_sync_outcome(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    paths = warehouse.paths
    with warehouse.connect() as con, sync_state(warehouse) as state:
        rows = mirror_to_warehouse(state, con)
        publish_snapshot(paths.warehouse, paths.analytics, [SYNC_OUTCOME], replace_only=True, con=con)
    context.log.info(f"published the sync's outcome to {paths.analytics}: {rows}")
    return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.json(rows),
                                          "analytics_snapshot": dg.MetadataValue.path(str(paths.analytics))})


def event_lag(state: SyncState, now: datetime | None = None) -> timedelta:
    oldest = state.oldest_pending_event()
    if oldest is None:
        return timedelta(0)
    return (now or datetime.now(UTC)) - datetime.fromisoformat(oldest)


def lag_check(lag: timedelta, max_lag: timedelta) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name="events_synced_within_lag", passed=lag <= max_lag,
        metadata={"lag_minutes": round(lag.total_seconds() / 60, 2), "max_lag_minutes": max_lag.total_seconds() / 60})
