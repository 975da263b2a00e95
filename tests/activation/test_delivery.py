"""Delivery against the fake Customer.io on loopback: exactly once by dedup id under every fault."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

from activation.deliver import deliver
from activation.destinations import Destination
from activation.outbox import Outbox
from activation import sync as sync_module
from activation.sync import deliver_everything
from activation.sync_state import DeadLetter, PendingItem, SyncState
from activation.track_client import DeliveryFailed, RetryPolicy, TrackClient
from fake_customerio import FakeCustomerIO
from tests.activation.queue import (
    KEY,
    SITE,
    event_items,
    fill,
    live_destination,
    poison_items,
    someone_holds_the_lock,
)

FAST_RETRY = RetryPolicy(max_attempts=8, backoff_seconds=0.02, max_backoff_seconds=0.3)


@pytest.fixture(scope="module")
def fake():
    with FakeCustomerIO().start_thread() as server:
        yield server


@pytest.fixture
def clean_fake(fake):
    fake.reset()
    yield fake
    fake.clear_faults()
    fake.throttle(None)


def run_delivery(state: SyncState, destination: Destination, *, timeout: float = 5.0, rps: float = 1000,
                 max_body_bytes: int = 20_000, concurrency: int = 4):
    async def go():
        async with TrackClient(destination.base_url, destination.site_id, destination.api_key, retry=FAST_RETRY,
                               timeout_seconds=timeout, requests_per_second=rps, max_connections=concurrency) as client:
            return await deliver(state, destination, client=client, concurrency=concurrency,
                                 max_body_bytes=max_body_bytes)
    return asyncio.run(go())


def assert_each_delivered_once(fake: FakeCustomerIO, state: SyncState, items) -> None:
    delivered = fake.delivered(SITE)
    assert {it.dedup_key for it in items} <= set(delivered)
    assert all(delivered[it.dedup_key] == 1 for it in items)
    assert state.counts().get("pending", 0) == 0


@pytest.mark.parametrize("fault", ["429", "500", "503", "delay", "reset_before", "reset_after"])
def test_every_valid_item_is_delivered_exactly_once_under_faults_and_poison_is_dead_lettered(
        clean_fake, tmp_path: Path, fault: str):
    destination = live_destination(clean_fake.base_url)
    with SyncState(tmp_path / "state.sqlite") as state:
        good, poison = event_items(destination, 400), poison_items(destination, 3)
        fill(state, destination, good[:200] + poison + good[200:])
        # Several consecutive failures: the first batches are retried more than once.
        clean_fake.inject(fault, count=3, path_prefix="/api/v2/batch", seconds=2.0)
        summary = run_delivery(state, destination, timeout=0.5)

        assert_each_delivered_once(clean_fake, state, good)
        assert summary.items_delivered == 400 and summary.dead_lettered == 3
        assert summary.retries >= 3
        dead = state.query("SELECT dedup_key, reason, field FROM dead_letters ORDER BY dedup_key")
        assert [d[0] for d in dead] == ["poison-0", "poison-1", "poison-2"]
        assert all(reason and field == "id" for _, reason, field in dead)
        if fault == "reset_after":  # the server applied the batch, the response was lost: resent, deduplicated
            assert max(clean_fake.receipts(SITE).values()) >= 2


def test_a_refused_oversize_request_is_split_until_it_fits(clean_fake, tmp_path: Path):
    destination = live_destination(clean_fake.base_url)
    with SyncState(tmp_path / "state.sqlite") as state:
        items = event_items(destination, 600, pad=2_000)
        fill(state, destination, items)
        # Our packer is allowed past the documented limit here, so the fake refuses whole requests (400).
        summary = run_delivery(state, destination, max_body_bytes=900_000)
        assert_each_delivered_once(clean_fake, state, items)
        assert summary.dead_lettered == 0
        assert clean_fake.requests()[("/api/v2/batch", "400")] >= 1


@pytest.mark.slow
def test_the_client_rate_limit_keeps_under_the_servers_throttle(clean_fake, tmp_path: Path):
    destination = live_destination(clean_fake.base_url)
    clean_fake.throttle(25)
    with SyncState(tmp_path / "state.sqlite") as state:
        items = event_items(destination, 150, pad=10)
        fill(state, destination, items)
        run_delivery(state, destination, rps=20, max_body_bytes=700)  # about 60 small requests at 20/s
        assert_each_delivered_once(clean_fake, state, items)
        assert clean_fake.requests()[("/api/v2/batch", "429")] == 0
        assert clean_fake.requests()[("/api/v2/batch", "200")] >= 40


def test_bad_credentials_fail_loudly_and_leave_everything_queued(clean_fake, tmp_path: Path):
    destination = Destination(1, clean_fake.base_url, SITE, "wrong-key")
    with SyncState(tmp_path / "state.sqlite") as state:
        fill(state, destination, event_items(destination, 20))
        with pytest.raises(DeliveryFailed, match="401"):
            run_delivery(state, destination)
        assert state.counts() == {"pending": 20}


def test_dry_run_writes_the_exact_bodies_to_the_outbox(tmp_path: Path):
    destination = Destination(1)
    with SyncState(tmp_path / "state.sqlite") as state:
        items = event_items(destination, 120, pad=300)
        fill(state, destination, items)
        outbox = Outbox(tmp_path / "outbox")
        summary = asyncio.run(deliver(state, destination, outbox=outbox, max_body_bytes=10_000))
        bodies = outbox.bodies(1)
        sent = [item for path in bodies for item in orjson.loads(path.read_bytes())["batch"]]
        assert [orjson.dumps(item) for item in sent] == [it.item for it in items]
        assert all(path.stat().st_size < 10_000 for path in bodies) and len(bodies) == summary.batches > 1
        assert state.counts() == {"delivered": 120}

        removed = outbox.scrub(1, {"user-7"})
        left = [item for path in outbox.bodies(1) for item in orjson.loads(path.read_bytes())["batch"]]
        assert removed == sum(it.person_id == "user-7" for it in items) > 0
        assert len(left) == 120 - removed and all(item["identifiers"]["id"] != "user-7" for item in left)


def test_a_delivery_deletes_every_brands_outbox_bodies_past_the_retention(tmp_path: Path):
    destination = Destination(1)
    with SyncState(tmp_path / "state.sqlite") as state:
        items = event_items(destination, 60, pad=300)
        fill(state, destination, items[:30])
        fill(state, destination, items[30:])
        asyncio.run(deliver(state, destination, outbox=Outbox(tmp_path / "outbox"), max_body_bytes=5_000))
        bodies = Outbox(tmp_path / "outbox").bodies(1)
        old = [path for path in bodies if int(path.stem.split("-")[2]) <= 30]  # batch-<first seq>-<last seq>
        # A brand whose workspace now has credentials: its outbox stream is gone, its bodies stay until pruned.
        old.append(Outbox(tmp_path / "outbox").write(2, 1, 9, b'{"batch":[]}'))
        fifteen_days_ago = time.time() - 15 * 86_400
        for path in old:
            os.utime(path, (fifteen_days_ago, fifteen_days_ago))

        outbox = Outbox(tmp_path / "outbox", retention=timedelta(days=14))
        report = deliver_everything(state, outbox)  # nothing left to send: it still prunes
        assert report.deliveries == [] and report.outbox_bodies_pruned == len(old) > 2
        kept = [item for path in outbox.bodies(1) for item in orjson.loads(path.read_bytes())["batch"]]
        assert [orjson.dumps(item) for item in kept] == [it.item for it in items[30:]]
        assert outbox.bodies(2) == [] and state.counts() == {"delivered": 60}


def test_old_bodies_go_even_when_a_delivery_fails_and_under_the_outbox_lock(tmp_path: Path, monkeypatch):
    for name in ("CUSTOMERIO_SITE_ID", "CUSTOMERIO_API_KEY", "CUSTOMERIO_SITE_ID_1", "CUSTOMERIO_API_KEY_1"):
        monkeypatch.delenv(name, raising=False)
    destination = Destination(1)
    with SyncState(tmp_path / "state.sqlite") as state:
        state.set_brands({1: "us"})
        fill(state, destination, event_items(destination, 5))
        outbox = Outbox(tmp_path / "outbox", retention=timedelta(days=14))
        old = outbox.write(2, 1, 9, b'{"batch":[]}')
        fifteen_days_ago = time.time() - 15 * 86_400
        os.utime(old, (fifteen_days_ago, fifteen_days_ago))
        held, prune = [], Outbox.prune

        def prune_noting_the_lock(self, brand_id, now=None):
            held.append(someone_holds_the_lock(state.queue_dir(Destination(brand_id).key)))
            return prune(self, brand_id, now)

        async def failing_delivery(*args, **kwargs):
            raise DeliveryFailed("401 from the workspace")

        monkeypatch.setattr(Outbox, "prune", prune_noting_the_lock)
        monkeypatch.setattr(sync_module, "deliver", failing_delivery)
        with pytest.raises(DeliveryFailed):
            deliver_everything(state, outbox)
        assert not old.exists() and held == [True]


def test_a_sync_killed_midway_resumes_with_nothing_lost_and_nothing_delivered_twice(clean_fake, tmp_path: Path):
    destination = live_destination(clean_fake.base_url)
    state_path = tmp_path / "state.sqlite"
    with SyncState(state_path) as state:
        items = event_items(destination, 3_000, pad=300)
        fill(state, destination, items)
    clean_fake.throttle(40)  # slow enough to kill it in the middle
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.activation.deliver_child", str(state_path), clean_fake.base_url, SITE, KEY],
        cwd=Path(__file__).resolve().parents[2], env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        with SyncState(state_path) as watcher:
            deadline = time.monotonic() + 120
            while watcher.counts().get("delivered", 0) < 600:
                assert child.poll() is None, "the child finished before it could be killed"
                assert time.monotonic() < deadline, "the child made no progress"
                time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    clean_fake.throttle(None)
    with SyncState(state_path) as state:
        before = state.counts()
        assert 0 < before["pending"] < 3_000
        run_delivery(state, destination)
        assert_each_delivered_once(clean_fake, state, items)
        receipts = clean_fake.receipts(SITE)
        resent = sum(n - 1 for n in receipts.values())
        # Only what was in flight at the kill (at most concurrency x batch size) reached the server twice.
        assert resent <= 4 * 60


def test_erasure_removes_dead_letters_and_leaves_no_bytes_in_the_state_file(tmp_path: Path):
    path = tmp_path / "state.sqlite"
    message = "invalid attribute value: jane.erased@example.com"
    with SyncState(path) as state:
        items = [PendingItem(seq, "user-9", "identify", f"key-{seq}", b"{}") for seq in range(1, 4)]
        state.mark_delivered("brand-1", 1, items, [DeadLetter(seq, "invalid", "email", message) for seq in (1, 2)])
        assert len(state.query("SELECT * FROM dead_letters")) == 2
        state.mark_erased(1, ["user-9"])
        assert state.query("SELECT * FROM dead_letters") == []
    content = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("state.sqlite"))
    assert b"jane.erased@example.com" not in content


def test_a_dead_letter_for_a_person_erased_while_the_batch_was_in_flight_is_not_kept(tmp_path: Path):
    with SyncState(tmp_path / "state.sqlite") as state:
        items = [PendingItem(1, "user-9", "identify", "key-1", b"{}"), PendingItem(2, "user-8", "identify", "key-2", b"{}")]
        state.mark_erased(1, ["user-9"])  # between the batch's read and its answer
        state.mark_delivered("brand-1", 1, items, [DeadLetter(1, "invalid", "email", "jane@example.com"),
                                                   DeadLetter(2, "invalid", "email", "other@example.com")])
        assert state.query("SELECT person_id FROM dead_letters") == [("user-8",)]
