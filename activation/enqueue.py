"""From the warehouse's activation marts to the outbound queue (the part that needs the warehouse).

- Erasures first: the person is forgotten by the outbound state and the outbox, and a `suppress`
  (or `delete`) is queued.
- People: only members whose attribute set changed since the last delivered identify, and of those
  only the attributes that changed (a removed attribute is sent as null, which clears it).
- Events: those that became available after the stream's cursor (re-read with an overlap, the
  unique dedup key absorbs the repeats), each with its deterministic ULID.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import duckdb
import orjson
import pyarrow as pa

from activation import payloads
from activation.destinations import Destination
from activation.event_ids import event_ulid
from activation.outbox import Outbox
from activation.sync_state import QueuedItem, SyncState

EVENT_CURSOR = "events_available_at"
ERASURE_ACTIONS = ("suppress", "delete")
CHUNK = 10_000


@dataclass
class EnqueueSummary:
    destination: str
    dry_run: bool
    identifies: int = 0
    people_unchanged: int = 0
    events: int = 0
    events_already_queued: int = 0
    erasures: int = 0
    outbox_items_scrubbed: int = 0
    unsendable: int = 0
    limit_warnings: int = 0


def brand_regions(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    return dict(con.execute("SELECT brand_id, customer_io_region FROM staging.stg_app__brands ORDER BY brand_id").fetchall())


def enqueue_brand(con: duckdb.DuckDBPyConnection, state: SyncState, destination: Destination, outbox: Outbox, *,
                  erasure_action: str = "suppress", backfill: timedelta | None = timedelta(hours=72),
                  overlap: timedelta = timedelta(hours=1), now: datetime | None = None) -> EnqueueSummary:
    if erasure_action not in ERASURE_ACTIONS:
        raise ValueError(f"erasure_action must be one of {ERASURE_ACTIONS}, not {erasure_action!r}")
    summary = EnqueueSummary(destination.key, destination.dry_run)
    _enqueue_erasures(con, state, destination, outbox, erasure_action, summary)
    _enqueue_people(con, state, destination, summary)
    _enqueue_events(con, state, destination, summary, backfill, overlap, now or datetime.now(UTC))
    return summary


def _enqueue_erasures(con, state: SyncState, dest: Destination, outbox: Outbox, action: str, summary: EnqueueSummary) -> None:
    rows = con.execute("SELECT person_id FROM marts.customerio_erasures WHERE brand_id = ? ORDER BY person_id",
                       [dest.brand_id]).fetchall()
    for (person_id,) in rows:
        if state.is_erased(dest.brand_id, person_id):
            continue
        item = QueuedItem(dest.key, dest.brand_id, person_id, action, f"{action}:{person_id}",
                          payloads.person_action(person_id, action).body)
        state.erase(dest.brand_id, person_id, item)
        summary.outbox_items_scrubbed += outbox.scrub(dest.brand_id, person_id)
        summary.erasures += 1


def _erased(state: SyncState, brand_id: int) -> set[str]:
    return {p for (p,) in state.query("SELECT person_id FROM erased WHERE brand_id = ?", (brand_id,))}


def _enqueue_people(con, state: SyncState, dest: Destination, summary: EnqueueSummary) -> None:
    delivered = state.delivered_digests(dest.key)
    known = pa.table({"person_id": pa.array([p for p, _ in delivered], pa.string()),
                      "digest": pa.array([d for _, d in delivered], pa.string())})
    con.register("_delivered_people", known)
    try:
        # The digest is of the mart's JSON text, whose key order is fixed by the model: equal text, equal set.
        changed = con.execute("""
            SELECT p.person_id, p.attributes::varchar AS attributes, md5(p.attributes::varchar) AS digest, d.digest
            FROM marts.customerio_people AS p
            LEFT JOIN _delivered_people AS d USING (person_id)
            WHERE p.brand_id = ? AND d.digest IS DISTINCT FROM md5(p.attributes::varchar)
            ORDER BY p.person_id""", [dest.brand_id]).fetchall()
        summary.people_unchanged = con.execute(
            "SELECT count(*) FROM marts.customerio_people WHERE brand_id = ?", [dest.brand_id]).fetchall()[0][0] - len(changed)
    finally:
        con.unregister("_delivered_people")
    erased = _erased(state, dest.brand_id)
    changed = [row for row in changed if row[0] not in erased]
    for start in range(0, len(changed), CHUNK):
        chunk = changed[start:start + CHUNK]
        before = state.delivered_attributes(dest.key, [person for person, *_ in chunk])
        items, warnings = [], []
        for person_id, text, digest, old_digest in chunk:
            attributes = orjson.loads(text)
            diff = changed_attributes(before.get(person_id, {}), attributes)
            key = f"identify:{person_id}:{old_digest or 'new'}->{digest}"
            try:
                item = payloads.identify(person_id, diff)
            except payloads.Unsendable as bad:
                _unsendable(state, QueuedItem(dest.key, dest.brand_id, person_id, "identify", key, b""), bad, summary)
                continue
            warnings += [(key, w.field, w.message) for w in item.warnings]
            items.append(QueuedItem(dest.key, dest.brand_id, person_id, "identify", key, item.body,
                                    attributes=text.encode(), available_at=None))
        state.supersede_identifies(dest.key, [it.person_id for it in items])
        queued, _ = state.enqueue(items)
        summary.identifies += queued
        state.record_warnings(dest.key, warnings)
        summary.limit_warnings += len(warnings)


def changed_attributes(before: dict, after: dict) -> dict:
    """What to send: new or changed values, and null for attributes that disappeared."""
    diff = {k: v for k, v in after.items() if k not in before or before[k] != v}
    diff.update({k: None for k in before if k not in after and before[k] is not None})
    return diff


def _enqueue_events(con, state: SyncState, dest: Destination, summary: EnqueueSummary,
                    backfill: timedelta | None, overlap: timedelta, now: datetime) -> None:
    cursor = state.cursor(dest.key, EVENT_CURSOR)
    if cursor is not None:
        since = datetime.fromisoformat(cursor) - overlap
    elif backfill is not None:
        since = now - backfill  # a new stream starts with what can still trigger campaigns, not all history
    else:
        since = datetime(1970, 1, 1, tzinfo=UTC)
    result = con.execute("""
        SELECT person_id, event_key, event_name, occurred_at, available_at, data::varchar
        FROM marts.customerio_events
        WHERE brand_id = ? AND available_at > ?
        ORDER BY available_at, event_key""", [dest.brand_id, since])
    erased = _erased(state, dest.brand_id)
    newest = None
    for rows in _fetch_chunks(result):
        items, warnings = [], []
        for person_id, event_key, name, occurred_at, available_at, data in rows:
            newest = available_at
            if person_id in erased:
                continue
            event_id = event_ulid(dest.brand_id, event_key, occurred_at)
            queued = QueuedItem(dest.key, dest.brand_id, person_id, "event", event_id, b"",
                                available_at=available_at.astimezone(UTC).isoformat())
            try:
                item = payloads.event_from_json(person_id, event_id, name, occurred_at, data.encode())
            except payloads.Unsendable as bad:
                _unsendable(state, queued, bad, summary)
                continue
            warnings += [(event_id, w.field, w.message) for w in item.warnings]
            items.append(replace(queued, item=item.body))
        queued_count, seen = state.enqueue(items)
        summary.events += queued_count
        summary.events_already_queued += seen
        state.record_warnings(dest.key, warnings)
        summary.limit_warnings += len(warnings)
    if newest is not None:
        state.set_cursor(dest.key, EVENT_CURSOR, newest.astimezone(UTC).isoformat())


def _fetch_chunks(result: duckdb.DuckDBPyConnection) -> Iterator[list[tuple]]:
    while rows := result.fetchmany(CHUNK):
        yield rows


def _unsendable(state: SyncState, item: QueuedItem, bad: payloads.Unsendable, summary: EnqueueSummary) -> None:
    state.dead_letter_unsendable(item, bad.reason, bad.message)
    summary.unsendable += 1

