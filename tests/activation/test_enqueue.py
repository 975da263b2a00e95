"""Queueing from the activation marts: only changes, each event once, erasure everywhere, limits."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import orjson
import pytest

from activation import outbound_queue
from activation.deliver import deliver
from activation.destinations import Destination, destination_for
from activation.outbox import Outbox
from activation.sync import enqueue_everything
from activation.sync_state import SyncState
from ingestion.paths import PROJECT_ROOT
from tests.activation.queue import someone_holds_the_lock

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("CREATE SCHEMA staging; CREATE SCHEMA marts")
    con.execute("CREATE TABLE staging.stg_app__brands AS SELECT 1::BIGINT AS brand_id, 'us' AS customer_io_region")
    con.execute("CREATE TABLE marts.customerio_people (brand_id BIGINT, user_id BIGINT, person_id VARCHAR, attributes JSON)")
    con.execute("CREATE TABLE marts.customerio_events (brand_id BIGINT, user_id BIGINT, person_id VARCHAR, event_key VARCHAR,"
                " event_name VARCHAR, occurred_at TIMESTAMPTZ, available_at TIMESTAMPTZ, data JSON)")
    con.execute("CREATE TABLE marts.customerio_erasures (brand_id BIGINT, user_id BIGINT, person_id VARCHAR,"
                " requested_at TIMESTAMPTZ)")
    for user in (1, 2, 3):
        add_person(con, user, {"points_balance": 100 * user, "rank_key": "gold", "rfm_segment": "Champions"})
    for n in range(6):
        add_event(con, n % 3 + 1, f"evt-{n}", NOW - timedelta(hours=2), {"n": n})
    yield con
    con.close()


def add_person(con, user: int, attributes: dict) -> None:
    con.execute("DELETE FROM marts.customerio_people WHERE user_id = ?", [user])
    con.execute("INSERT INTO marts.customerio_people VALUES (1, ?, ?, ?)", [user, f"user-{user}", json.dumps(attributes)])


def add_event(con, user: int, key: str, available_at: datetime, data: dict) -> None:
    con.execute("INSERT INTO marts.customerio_events VALUES (1, ?, ?, ?, 'product_scanned', ?, ?, ?)",
                [user, f"user-{user}", f"app:{key}", available_at - timedelta(minutes=5), available_at, json.dumps(data)])


def sync(con, state: SyncState, outbox: Outbox, **options) -> list[dict]:
    """Queue and deliver to the outbox (no credentials: a dry run); returns the items of this round."""
    before = {p.name for p in outbox.bodies(1)}
    (summary,) = enqueue_everything(con, state, outbox, now=NOW, **options)
    asyncio.run(deliver(state, Destination(1), outbox=outbox))
    items = [item for p in outbox.bodies(1) if p.name not in before for item in orjson.loads(p.read_bytes())["batch"]]
    return summary, items


def test_only_changed_attributes_and_new_events_are_sent(warehouse, tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox")
    with SyncState(tmp_path / "state.sqlite") as state:
        summary, first = sync(warehouse, state, outbox)
        assert summary.identifies == 3 and summary.events == 6
        assert sorted(i["identifiers"]["id"] for i in first if i["action"] == "identify") == ["user-1", "user-2", "user-3"]

        # Nothing changed: nothing is sent, the re-read events (cursor overlap) are recognised.
        summary, second = sync(warehouse, state, outbox)
        assert second == [] and summary.people_unchanged == 3 and summary.events_already_queued == 6

        add_person(warehouse, 2, {"points_balance": 250, "rank_key": "gold"})  # changed one, dropped one
        add_event(warehouse, 3, "evt-new", NOW - timedelta(minutes=10), {"n": 99})
        summary, third = sync(warehouse, state, outbox)
        identifies = [i for i in third if i["action"] == "identify"]
        assert identifies == [{"type": "person", "identifiers": {"id": "user-2"}, "action": "identify",
                               "attributes": {"points_balance": 250, "rfm_segment": None}}]
        assert [i["attributes"] for i in third if i["action"] == "event"] == [{"n": 99}]

        # Changing back is a change too (a new identify, not mistaken for the first one).
        add_person(warehouse, 2, {"points_balance": 200, "rank_key": "gold", "rfm_segment": "Champions"})
        _, fourth = sync(warehouse, state, outbox)
        assert [i["attributes"] for i in fourth] == [{"points_balance": 200, "rfm_segment": "Champions"}]


def test_a_new_stream_starts_within_the_backfill_window(warehouse, tmp_path: Path):
    add_event(warehouse, 1, "evt-old", NOW - timedelta(days=10), {"old": True})
    # Loaded with the others but it happened ten days ago: history too.
    warehouse.execute("INSERT INTO marts.customerio_events VALUES (1, 1, 'user-1', 'app:evt-late-old', 'product_scanned',"
                      " ?, ?, '{\"late_old\": true}')", [NOW - timedelta(days=10), NOW - timedelta(hours=2)])
    with SyncState(tmp_path / "state.sqlite") as state:
        _, items = sync(warehouse, state, Outbox(tmp_path / "outbox"))
        sent = [i.get("attributes") for i in items]
        assert {"old": True} not in sent and {"late_old": True} not in sent and {"n": 0} in sent
        # The next run re-reads the last hour (the cursor's overlap): the history floor still holds.
        summary, again = sync(warehouse, state, Outbox(tmp_path / "outbox"))
        assert again == [] and summary.events == 0
    with SyncState(tmp_path / "all" / "state.sqlite") as state:  # a state of its own: its own directory
        _, items = sync(warehouse, state, Outbox(tmp_path / "outbox-all"), backfill=None)
        assert {"old": True} in [i.get("attributes") for i in items]


def test_erasure_suppresses_and_removes_the_member_from_queue_state_and_outbox(warehouse, tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox")
    with SyncState(tmp_path / "state.sqlite") as state:
        sync(warehouse, state, outbox)
        # An event of user 3 is queued but not yet delivered when the erasure request arrives.
        add_event(warehouse, 3, "evt-pending", NOW - timedelta(minutes=1), {"pending": True})
        enqueue_everything(warehouse, state, outbox, now=NOW)
        warehouse.execute("INSERT INTO marts.customerio_erasures VALUES (1, 3, 'user-3', ?)", [NOW])
        warehouse.execute("DELETE FROM marts.customerio_people WHERE user_id = 3")
        summary, items = sync(warehouse, state, outbox, erasure_action="delete")

        assert summary.erasures == 1 and summary.outbox_items_scrubbed == 3  # identify + 2 events written before
        assert items == [{"type": "person", "identifiers": {"id": "user-3"}, "action": "delete"}]
        every_body = [i for p in outbox.bodies(1) for i in orjson.loads(p.read_bytes())["batch"]]
        assert [i for i in every_body if i["identifiers"]["id"] == "user-3"] == items
        assert {"pending": True} not in [i.get("attributes") for i in every_body]  # queued, never delivered
        assert queue_state(warehouse, state, "SELECT count(*) FROM q.people WHERE person_id = 'user-3'") == [(0,)]
        assert state.counts() == {"delivered": 9 + 1}  # the first sync and the delete; evt-pending was scrubbed
        # A later sync never brings the member back, nor erases twice.
        add_event(warehouse, 3, "evt-late", NOW, {"late": True})
        summary, later = sync(warehouse, state, outbox)
        assert later == [] and summary.erasures == 0


def test_oversize_data_is_truncated_with_a_warning_and_unsendable_items_are_dead_lettered(warehouse, tmp_path: Path):
    add_event(warehouse, 1, "evt-big", NOW, {"notes": "x" * 50_000})
    warehouse.execute("INSERT INTO marts.customerio_events VALUES (1, 9, ?, 'app:evt-bad-id', 'product_scanned', ?, ?, '{}')",
                      ["u" * 200, NOW, NOW])
    with SyncState(tmp_path / "state.sqlite") as state:
        summary, items = sync(warehouse, state, Outbox(tmp_path / "outbox"))
        big = next(i for i in items if "notes" in i.get("attributes", {}))
        assert len(orjson.dumps(big)) <= 32_000
        assert summary.limit_warnings == 1 and summary.unsendable == 1
        assert queue_state(warehouse, state, "SELECT field FROM q.limit_warnings") == [("attributes.notes",)]
        assert queue_state(warehouse, state, "SELECT reason FROM q.unsendable") == [("id_too_long",)]
        # Found once: the next run does not dead-letter the same event again.
        summary, _ = sync(warehouse, state, Outbox(tmp_path / "outbox"))
        assert summary.unsendable == 0 and queue_state(warehouse, state, "SELECT count(*) FROM q.unsendable") == [(1,)]


def queue_state(con, state: SyncState, sql: str) -> list[tuple]:
    with outbound_queue.attached(con, state.path.parent):
        return con.execute(sql).fetchall()


@pytest.mark.parametrize(("before", "after", "sent"), [
    ({"a": 1, "b": 2, "c": None}, {"a": 1, "b": 3, "d": 4}, {"b": 3, "d": 4}),  # a null that disappears: nothing
    ({"a": 1}, {}, {"a": None}),
    ({"a": {"x": [1, 2]}, "b": "s"}, {"a": {"x": [1, 3]}, "b": "s"}, {"a": {"x": [1, 3]}}),
    ({"a": "caf\u00e9 \"quoted\""}, {"a": "caf\u00e9 \"quoted\"", "b": None}, {"b": None}),
])
def test_the_identify_carries_exactly_the_attribute_diff(warehouse, tmp_path: Path, before, after, sent):
    outbox = Outbox(tmp_path / "outbox")
    with SyncState(tmp_path / "state.sqlite") as state:
        add_person(warehouse, 1, before)
        sync(warehouse, state, outbox)
        add_person(warehouse, 1, after)
        _, items = sync(warehouse, state, outbox)
    assert [i["attributes"] for i in items if i["action"] == "identify"] == [sent]


def test_destinations_come_from_the_environment_per_brand():
    assert destination_for(1, "us", {}).dry_run
    env = {"CUSTOMERIO_SITE_ID_2": "s2", "CUSTOMERIO_API_KEY_2": "k2"}
    live = destination_for(2, "eu", env)
    assert (live.base_url, live.key, live.dry_run) == ("https://track-eu.customer.io", "site:s2", False)
    assert "k2" not in repr(live)
    assert destination_for(2, "us", {**env, "CUSTOMERIO_TRACK_URL": "http://127.0.0.1:9"}).base_url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="region"):
        destination_for(2, "mars", env)


def test_the_sync_outcome_is_copied_into_the_warehouse_for_analysts(warehouse, tmp_path: Path):
    from activation.reporting import mirror_to_warehouse

    warehouse.execute("INSERT INTO marts.customerio_events VALUES (1, 9, ?, 'app:evt-bad-id', 'product_scanned', ?, ?, '{}')",
                      ["u" * 200, NOW, NOW])
    with SyncState(tmp_path / "state.sqlite") as state:
        assert mirror_to_warehouse(state, warehouse) == {"dead_letters": 0, "limit_warnings": 0, "sync_status": 0}
        sync(warehouse, state, Outbox(tmp_path / "outbox"))
        counts = mirror_to_warehouse(state, warehouse)
    assert counts["dead_letters"] == 1
    assert warehouse.execute("SELECT reason, brand_id FROM activation.dead_letters").fetchall() == [("id_too_long", 1)]
    status = dict(warehouse.execute("SELECT status, sum(items) FROM activation.sync_status GROUP BY ALL").fetchall())
    assert status == {"delivered": 9, "dead": 1}


QUEUE_CHILD = """
import os, signal, sys
from datetime import datetime
from pathlib import Path

import duckdb

from activation import outbound_queue, segments
from activation.outbox import Outbox
from activation.sync import enqueue_everything
from activation.sync_state import SyncState

warehouse, state_dir, crash_at, now = sys.argv[1:5]


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


if crash_at == "segment_written":  # inside the transaction, the segment fsynced, nothing committed
    write = outbound_queue.write_segment
    outbound_queue.write_segment = lambda *a, **k: (write(*a, **k), die())
elif crash_at == "erasure_marked":  # the erasure committed in the sync state, the outbox not yet scrubbed
    mark_erased = SyncState.mark_erased
    SyncState.mark_erased = lambda self, *a, **k: (mark_erased(self, *a, **k), die())
else:  # "committed": the state committed, the segment not yet renamed into place
    segments.publish = die
con = duckdb.connect(warehouse)
with SyncState(Path(state_dir) / "sync_state.sqlite") as state:
    enqueue_everything(con, state, Outbox(Path(state_dir) / "outbox"), now=datetime.fromisoformat(now))
"""


@pytest.mark.parametrize("crash_at", ["segment_written", "committed"])
def test_a_queueing_run_killed_while_writing_its_segment_is_finished_exactly_once(warehouse, tmp_path: Path, crash_at):
    for n in range(6, 400):  # enough for a segment of some size
        add_event(warehouse, n % 3 + 1, f"evt-{n}", NOW - timedelta(hours=1), {"n": n})
    warehouse.close()
    state_dir = tmp_path / "activation"
    child = subprocess.run([sys.executable, "-c", QUEUE_CHILD, str(tmp_path / "warehouse.duckdb"), str(state_dir),
                            crash_at, NOW.isoformat()], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    left = [p.name for p in (state_dir / "queue").rglob("*.parquet*")] + [p.name for p in (state_dir / "queue").rglob(".*.tmp")]
    assert left, "the child died with its segment written"

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    outbox = Outbox(state_dir / "outbox")
    try:
        with SyncState(state_dir / "sync_state.sqlite") as state:
            summary, items = sync(con, state, outbox)
            summary_again, again = sync(con, state, outbox)
            counts = state.counts()
    finally:
        con.close()
    events = sorted(i["attributes"]["n"] for i in items if i["action"] == "event")
    identifies = sorted(i["identifiers"]["id"] for i in items if i["action"] == "identify")
    assert events == list(range(400)) and identifies == ["user-1", "user-2", "user-3"]
    assert again == [] and summary_again.events == summary_again.identifies == 0
    assert counts == {"delivered": 403}
    assert not list((state_dir / "queue").rglob(".*.tmp")) and not list((state_dir / "queue").rglob("*.parquet"))


def test_the_outbox_is_scrubbed_under_the_lock_its_delivery_holds(warehouse, tmp_path: Path, monkeypatch):
    """A delivery writes and prunes the brand's bodies under its stream's lock: the scrub rewrites them under it too."""
    outbox = Outbox(tmp_path / "outbox")
    with SyncState(tmp_path / "state.sqlite") as state:
        sync(warehouse, state, outbox)
        held, scrub = [], Outbox.scrub

        def scrub_noting_the_lock(self, brand_id, people):
            held.append(someone_holds_the_lock(state.queue_dir(Destination(brand_id).key)))
            return scrub(self, brand_id, people)

        monkeypatch.setattr(Outbox, "scrub", scrub_noting_the_lock)
        warehouse.execute("INSERT INTO marts.customerio_erasures VALUES (1, 3, 'user-3', ?)", [NOW])
        (summary,) = enqueue_everything(warehouse, state, outbox, now=NOW)
        assert held == [True] and summary.outbox_items_scrubbed == 3


def test_an_erasure_killed_after_its_commit_is_finished_by_the_next_run(warehouse, tmp_path: Path):
    state_dir = tmp_path / "activation"
    outbox = Outbox(state_dir / "outbox")
    with SyncState(state_dir / "sync_state.sqlite") as state:
        sync(warehouse, state, outbox)  # user 3's identify and events are in the outbox
        add_event(warehouse, 3, "evt-pending", NOW - timedelta(minutes=1), {"pending": True})
        enqueue_everything(warehouse, state, outbox, now=NOW)  # queued, not delivered
    warehouse.execute("INSERT INTO marts.customerio_erasures VALUES (1, 3, 'user-3', ?)", [NOW])
    warehouse.execute("DELETE FROM marts.customerio_people WHERE user_id = 3")
    warehouse.close()
    child = subprocess.run([sys.executable, "-c", QUEUE_CHILD, str(tmp_path / "warehouse.duckdb"), str(state_dir),
                            "erasure_marked", NOW.isoformat()], cwd=PROJECT_ROOT, capture_output=True, text=True,
                           timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    left_behind = [i for p in outbox.bodies(1) for i in orjson.loads(p.read_bytes())["batch"]
                   if i["identifiers"]["id"] == "user-3"]
    assert len(left_behind) == 3, "the child died before scrubbing the outbox"

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        with SyncState(state_dir / "sync_state.sqlite") as state:
            summary, items = sync(con, state, outbox)
    finally:
        con.close()
    every_body = [i for p in outbox.bodies(1) for i in orjson.loads(p.read_bytes())["batch"]]
    assert [i for i in every_body if i["identifiers"]["id"] == "user-3"] == [
        {"type": "person", "identifiers": {"id": "user-3"}, "action": "suppress"}]
    assert {"pending": True} not in [i.get("attributes") for i in items]
    assert summary.outbox_items_scrubbed == 3
