"""Filling a sync state with synthetic items (tests and the SIGKILL child process share it)."""

from __future__ import annotations

import fcntl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from activation import payloads
from activation.destinations import Destination
from activation.event_ids import event_ulid
from activation.segments import QueuedItem, append_items
from activation.sync_state import SyncState

SITE, KEY = "site-1", "track-key-1"
START = datetime(2026, 11, 20, 12, tzinfo=UTC)


def live_destination(base_url: str) -> Destination:
    return Destination(1, base_url, SITE, KEY)


def event_items(destination: Destination, count: int, *, pad: int = 200, people: int = 50) -> list[QueuedItem]:
    items = []
    for n in range(count):
        person, when = f"user-{n % people + 1}", START + timedelta(seconds=n)
        event_id = event_ulid(destination.brand_id, f"app:evt-{n}", when)
        body = payloads.event(person, event_id, "product_scanned", when,
                              {"n": n, "product_snapshot": {"identity": {"product_id": n % 7}}, "pad": "p" * pad}).body
        items.append(QueuedItem(destination.brand_id, person, "event", event_id, body, available_at=when))
    return items


def poison_items(destination: Destination, count: int) -> list[QueuedItem]:
    """Items Customer.io refuses one by one (an event id that is not a ULID): a 207 names them."""
    return [QueuedItem(destination.brand_id, "user-1", "event", f"poison-{n}",
                       orjson.dumps({"type": "person", "identifiers": {"id": "user-1"}, "action": "event",
                                     "id": f"not-a-ulid-{n}", "name": "product_scanned", "timestamp": 1}))
            for n in range(count)]


def fill(state: SyncState, destination: Destination, items: list[QueuedItem]) -> None:
    append_items(state.queue_dir(destination.key), items)


def someone_holds_the_lock(queue_dir: Path) -> bool:
    """Whether the destination's lock (activation/segments.py's `locked`, a flock of its .lock file) is held now."""
    with open(queue_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False
