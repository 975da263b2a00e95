"""The two steps of a sync, for every brand: queue what changed (needs the warehouse), then deliver
what is queued (needs only the sync state and the network)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import duckdb

from activation.deliver import DeliverySummary, deliver
from activation import outbound_queue
from activation.destinations import destination_for
from activation.enqueue import EnqueueSummary, brand_regions, enqueue_brand
from activation.outbox import Outbox
from activation.sync_state import SyncState
from activation.track_client import TrackClient


@dataclass(frozen=True)
class DeliveryOptions:
    requests_per_second: float = 100
    concurrency: int = 8
    timeout_seconds: float = 10.0
    verify: bool | str = True  # a CA bundle path for a private TLS endpoint


@dataclass
class DeliveryReport:
    deliveries: list[DeliverySummary] = field(default_factory=list)
    stranded: dict[str, int] = field(default_factory=dict)  # queued for a workspace no longer configured
    outbox_bodies_pruned: int = 0  # dry-run bodies older than the outbox's retention, deleted


def enqueue_everything(con: duckdb.DuckDBPyConnection, state: SyncState, outbox: Outbox, **options) -> list[EnqueueSummary]:
    regions = brand_regions(con)
    state.set_brands(regions)
    with outbound_queue.attached(con, state.path.parent):
        return [enqueue_brand(con, state, destination_for(brand, region), outbox, **options)
                for brand, region in regions.items()]


def deliver_everything(state: SyncState, outbox: Outbox, options: DeliveryOptions = DeliveryOptions()) -> DeliveryReport:
    return asyncio.run(_deliver_everything(state, outbox, options))


async def _deliver_everything(state: SyncState, outbox: Outbox, options: DeliveryOptions) -> DeliveryReport:
    # First, so a failing workspace (its delivery raises) does not keep every brand's old bodies.
    report = DeliveryReport(outbox_bodies_pruned=prune_outbox(state, outbox))
    configured = {}
    for brand, region in state.brands().items():
        configured.setdefault(destination_for(brand, region).key, destination_for(brand, region))
    for key in state.streams():
        destination = configured.get(key)
        if destination is None:  # queued for a workspace no longer configured
            report.stranded[key] = state.counts(key).get("pending", 0)
            continue
        if destination.dry_run:
            report.deliveries.append(await deliver(state, destination, outbox=outbox))
            continue
        # One client per workspace: the rate limit is per credentials.
        async with TrackClient(destination.base_url, destination.site_id, destination.api_key,
                               requests_per_second=options.requests_per_second, timeout_seconds=options.timeout_seconds,
                               max_connections=options.concurrency, verify=options.verify) as client:
            report.deliveries.append(await deliver(state, destination, client=client, concurrency=options.concurrency))
    return report


def prune_outbox(state: SyncState, outbox: Outbox) -> int:
    """Delete the bodies past the outbox's retention, of every brand with an outbox: also of a brand with nothing
    queued, or whose workspace now has credentials. Each brand's under its outbox lock."""
    pruned = 0
    for brand in outbox.brands():
        with state.outbox_locked(brand):
            pruned += outbox.prune(brand)
    return pruned
