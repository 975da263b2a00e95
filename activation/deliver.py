"""Draining a destination's queue segments: batches to Customer.io (or the outbox in a dry run).

Segments are delivered in seq order, one at a time: within a segment batches go out concurrently (a
few in flight hide the round trip; the client's rate limit caps the request rate), and the next
segment starts only when the previous one is complete, so a person's identifies reach Customer.io in
the order they were queued. Each batch's outcome is committed to the sync state as soon as it is
known, so a crash costs at most the batches in flight. A 207 dead-letters the items it names and
delivers the rest; a 400/413 (the whole request refused) is split in halves until the refused item is
alone, and that item is dead-lettered with the response. Items of an erased person are never sent.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from activation import segments
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
    skipped_erased: int = 0
    batches: int = 0
    retries: int = 0
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        return round(self.items_delivered / self.seconds, 1) if self.seconds else 0.0


async def deliver(state: SyncState, destination: Destination, *, client: TrackClient | None = None,
                  outbox: Outbox | None = None, concurrency: int = 8,
                  max_body_bytes: int = BATCH_MAX_BYTES) -> DeliverySummary:
    if destination.dry_run and outbox is None:
        raise ValueError(f"{destination.key} is a dry run: an outbox is needed")
    if not destination.dry_run and client is None:
        raise ValueError(f"{destination.key}: a TrackClient is needed")
    summary = DeliverySummary(destination.key, destination.dry_run)
    started = time.perf_counter()
    directory = state.queue_dir(destination.key)
    try:
        # An erasure rewriting this queue waits for the drain, and the drain for the erasure.
        with segments.locked(directory):
            for segment in segments.segments(directory):
                skipped = await _deliver_segment(state, destination, segment, client, outbox, concurrency,
                                                 max_body_bytes, summary)
                state.segment_finished(destination.key, segment, skipped)
    finally:
        summary.seconds = round(time.perf_counter() - started, 3)
        summary.retries = client.retries if client else 0
    return summary


async def _deliver_segment(state: SyncState, dest: Destination, segment: segments.Segment, client: TrackClient | None,
                           outbox: Outbox | None, concurrency: int, max_body_bytes: int,
                           summary: DeliverySummary) -> Counter:
    """Send every item of the segment not yet done; raises the first failure once nothing is in flight."""
    done = state.delivered_ranges(dest.key, segment.first_seq, segment.last_seq)
    erased = state.erased_people()
    slots = asyncio.Semaphore(concurrency)
    in_flight: set[asyncio.Task] = set()
    failure: BaseException | None = None
    skipped: Counter = Counter()

    async def send(batch: list[PendingItem], brand_id: int) -> None:
        try:
            await _send(state, dest, brand_id, batch, client, outbox, summary)
        finally:
            slots.release()

    for rows in segments.read_batches(segment):
        seq = rows.column("seq").to_numpy()
        todo = np.ones(len(seq), bool)
        for first, last in done:
            todo &= (seq < first) | (seq > last)
        rows = rows.filter(todo)
        if erased:
            gone = pc.and_(
                pc.is_in(pc.binary_join_element_wise(pc.cast(rows.column("brand_id"), "string"), rows.column("person_id"),
                                                     ":"), value_set=pa.array(sorted(erased))),
                pc.invert(pc.is_in(rows.column("kind"), value_set=pa.array(segments.ACTIONS))))
            gone_rows = rows.filter(gone)
            skipped.update(zip(gone_rows.column("brand_id").to_pylist(), gone_rows.column("kind").to_pylist()))
            rows = rows.filter(pc.invert(gone))
        by_brand: dict[int, list[PendingItem]] = {}
        for seq_, brand, person, kind, key, item in zip(*(rows.column(c).to_pylist() for c in (
                "seq", "brand_id", "person_id", "kind", "dedup_key", "item"))):
            by_brand.setdefault(brand, []).append(PendingItem(seq_, person, kind, key, item.encode()))
        for brand, pending in by_brand.items():
            for batch in pack(((row, row.item) for row in pending), max_body_bytes):
                await slots.acquire()
                failure = _first_failure(in_flight)
                if failure is not None:
                    slots.release()
                    break
                task = asyncio.create_task(send([row for row, _ in batch], brand))
                in_flight.add(task)
            if failure is not None:
                break
        if failure is not None:
            break
    if in_flight:
        await asyncio.wait(in_flight)
    failure = failure or _first_failure(in_flight)
    if failure is not None:
        raise failure
    summary.skipped_erased += sum(skipped.values())
    return skipped


def _first_failure(tasks: set[asyncio.Task]) -> BaseException | None:
    for task in [t for t in tasks if t.done()]:
        tasks.discard(task)
        if task.exception() is not None:
            return task.exception()
    return None


async def _send(state: SyncState, dest: Destination, brand_id: int, batch: list[PendingItem],
                client: TrackClient | None, outbox: Outbox | None, summary: DeliverySummary) -> None:
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
                await _send(state, dest, brand_id, batch[:half], client, outbox, summary)
                await _send(state, dest, brand_id, batch[half:], client, outbox, summary)
                return
            dead = [DeadLetter(batch[0].seq, f"http_{refused.status}", None, refused.text[:1000])]
        else:
            dead = [DeadLetter(batch[e.batch_index].seq, e.reason, e.field, e.message)
                    for e in result.errors if 0 <= e.batch_index < len(batch)]
    state.mark_delivered(dest.key, brand_id, batch, dead)
    summary.batches += 1
    summary.dead_lettered += len(dead)
    summary.items_delivered += len(batch) - len(dead)
