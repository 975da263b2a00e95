"""Atomic switch: concurrent readers see whole versions; a killed publisher leaves the previous one serving."""

from __future__ import annotations

import pytest

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson

from ingestion.paths import PROJECT_ROOT
from publishing.card_store import CardStoreReader, CardStoreWriter, database_path
from publishing.sample_documents import member_document
from tests.publishing.conftest import count

MEMBERS = 60
PUBLISHES = 12


def stamped_documents(version: int, members: int = MEMBERS):
    """Every document of version v carries v (as its balance), so a reader can tell which set it came from."""
    for user_id in range(1, members + 1):
        document = member_document(1, user_id) | {"points_balance": version}
        yield 1, user_id, orjson.dumps(document)


@pytest.mark.slow
def test_readers_in_many_threads_never_see_a_mixed_set(cards_root: Path):
    writer = CardStoreWriter(cards_root)
    writer.publish(stamped_documents(1))
    reader = CardStoreReader(cards_root)
    done = threading.Event()
    failures: list[str] = []
    reads = [0] * 8

    def read_continuously(slot: int) -> None:
        try:
            while not done.is_set():
                user_id = 1 + reads[slot] % MEMBERS
                stored = reader.get(1, user_id)
                body = stored.body()
                document = orjson.loads(body)
                if hashlib.sha256(body).hexdigest() != stored.digest or len(body) != stored.size:
                    failures.append(f"torn document for user {user_id} in version {stored.version}")
                if document["points_balance"] != stored.version or document["user_id"] != user_id:
                    failures.append(f"user {user_id}: version {stored.version} served {document['points_balance']}")
                reads[slot] += 1
        except Exception as error:  # noqa: BLE001 - any reader failure is reported by the assertion below
            failures.append(repr(error))

    threads = [threading.Thread(target=read_continuously, args=(slot,)) for slot in range(len(reads))]
    for thread in threads:
        thread.start()
    try:
        for version in range(2, PUBLISHES + 1):
            assert writer.publish(stamped_documents(version)).version == version
            # every reader makes progress against each version before the next switch
            target = [n + 5 for n in reads]
            _wait_until(lambda target=target: all(n >= t for n, t in zip(reads, target)) or failures)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        writer.close()
    assert failures == []
    assert reader.current_version() == PUBLISHES
    reader.close()


def test_a_publisher_killed_mid_publish_leaves_the_previous_version_serving(cards_root: Path):
    with CardStoreWriter(cards_root) as writer:
        writer.publish(stamped_documents(1))
    wal = database_path(cards_root).with_name("cards.sqlite-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0
    # The child publishes a large set and stops (blocked on stdin) halfway through storing the changed
    # documents, inside its transaction: its validator, which sees every stored chunk, waits there.
    # A tiny page cache makes it spill uncommitted pages into the WAL, the case that matters.
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from publishing.card_store import CardStoreWriter
        from tests.publishing.test_consistency import stamped_documents

        class StopMidway:
            submitted = 0

            def submit(self, documents):
                self.submitted += len(documents)
                if self.submitted >= 3000:
                    print("midway", flush=True)
                    sys.stdin.readline()

            def finish(self):
                return self.submitted

        CardStoreWriter(Path({str(cards_root)!r}), chunk_size=500, cache_mib=1).publish(
            stamped_documents(2, members=6000), validator=StopMidway())
        """)], cwd=PROJECT_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "midway"
        _wait_until(lambda: wal.exists() and wal.stat().st_size > wal_before)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    reader = CardStoreReader(cards_root)
    assert reader.current_version() == 1
    for user_id in range(1, MEMBERS + 1):
        stored = reader.get(1, user_id)
        assert stored.version == 1
        assert orjson.loads(stored.body())["points_balance"] == 1
    assert reader.get(1, MEMBERS + 1) is None  # nothing of the killed publish is visible
    assert count(cards_root, "SELECT COUNT(*) FROM versions") == 1

    with CardStoreWriter(cards_root) as writer:
        result = writer.publish(stamped_documents(2))
    assert (result.version, result.changed) == (2, MEMBERS)
    assert reader.get(1, 1).version == 2
    assert count(cards_root, "PRAGMA integrity_check") == "ok"
    reader.close()


def _wait_until(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)
