"""Draining a destination's outbound queue: batches to Customer.io (or the outbox in a dry run).

Batches go out concurrently (a few in flight hide the round trip; the client's rate limit caps the
request rate). Each batch's outcome is committed to the sync state as soon as it is known, so a
crash costs at most the batches in flight. A 207 dead-letters the items it names and delivers the
rest; a 400/413 (the whole request refused) is split in halves until the refused item is alone, and
that item is dead-lettered with the response.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from activation.batching import batch_body, pack
from activation.destinations import Destination
from activation.limits import BATCH_MAX_BYTES
from activation.outbox import Outbox
from activation.sync_state import DeadLetter, PendingItem, SyncState
from activation.track_client import BatchRejected, TrackClient


@dataclass
class DeliverySummary:
    destination: str
    dry_run: bool
    items_delivered: int = 0
    dead_lettered: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        return round(self.items_delivered / self.seconds, 1) if self.seconds else 0.0


async def deliver(state: SyncState, destination: Destination, *, client: TrackClient | None = None,
                  outbox: Outbox | None = None, concurrency: int = 8, max_body_bytes: int = BATCH_MAX_BYTES,
                  read_chunk: int = 20_000) -> DeliverySummary:
    if destination.dry_run and outbox is None:
        raise ValueError(f"{destination.key} is a dry run: an outbox is needed")
    if not destination.dry_run and client is None:
        raise ValueError(f"{destination.key}: a TrackClient is needed")
    summary = DeliverySummary(destination.key, destination.dry_run)
    started = time.perf_counter()
    slots = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task] = set()
    failure: BaseException | None = None

    async def send(batch: list[PendingItem]) -> None:
        try:
            await _send(state, destination, batch, client, outbox, summary)
        finally:
            slots.release()

    after_seq = 0
    while failure is None and (rows := state.pending(destination.key, after_seq, read_chunk)):
        after_seq = rows[-1].seq
        for batch in pack(((row, row.item) for row in rows), max_body_bytes):
            await slots.acquire()
            failure = _first_failure(in_flight)
            if failure is not None:
                slots.release()
                break
            task = asyncio.create_task(send([row for row, _ in batch]))
            in_flight.add(task)
    if in_flight:
        await asyncio.wait(in_flight)
    failure = failure or _first_failure(in_flight)
    summary.seconds = round(time.perf_counter() - started, 3)
    summary.retries = client.retries if client else 0
    if failure is not None:
        raise failure
    return summary


def _first_failure(tasks: set[asyncio.Task]) -> BaseException | None:
    for task in [t for t in tasks if t.done()]:
        tasks.discard(task)
        if task.exception() is not None:
            return task.exception()
    return None


async def _send(state: SyncState, dest: Destination, batch: list[PendingItem], client: TrackClient | None,
                outbox: Outbox | None, summary: DeliverySummary) -> None:
    body = batch_body(row.item for row in batch)
    dead: list[DeadLetter] = []
    if dest.dry_run:
        outbox.write(dest.brand_id, batch[0].seq, batch[-1].seq, body)
    else:
        try:
            result = await client.send_batch(body)
        except BatchRejected as refused:
            if len(batch) > 1:
                half = len(batch) // 2
                await _send(state, dest, batch[:half], client, outbox, summary)
                await _send(state, dest, batch[half:], client, outbox, summary)
                return
            dead = [DeadLetter(batch[0].seq, f"http_{refused.status}", None, refused.text[:1000])]
        else:
            dead = [DeadLetter(batch[e.batch_index].seq, e.reason, e.field, e.message)
                    for e in result.errors if 0 <= e.batch_index < len(batch)]
    state.mark_delivered(dest.key, dest.brand_id, batch, dead)
    summary.batches += 1
    summary.dead_lettered += len(dead)
    summary.items_delivered += len(batch) - len(dead)
