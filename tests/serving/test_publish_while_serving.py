"""Readers never see a mixed or partial snapshot set, and a killed publish leaves the old one serving."""

from __future__ import annotations

import pytest

import gzip
import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import jsonschema
import orjson

from ingestion.paths import PROJECT_ROOT
from publishing.card_store import CardStoreWriter
from tests.serving.helpers import (
    DEADLINE_SECONDS,
    document_bytes,
    running_server,
    settings_for,
    token,
    versioned_document,
    wait_until,
)

SCHEMA = json.loads((PROJECT_ROOT / "docs/schemas/cards/member_cards.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
MEMBERS = [(brand_id, user_id) for brand_id in (1, 2) for user_id in range(1, 31)]
READERS = 32
VERSIONS = 6


def revision_in(version: int, user_id: int) -> int:
    """Members with user_id divisible by 3 never change, so they keep their version-1 document."""
    return 1 if user_id % 3 == 0 else version


def snapshot(version: int) -> list[tuple[int, int, bytes]]:
    return [(b, u, document_bytes(versioned_document(b, u, revision_in(version, u)))) for b, u in MEMBERS]


class Reader(threading.Thread):
    """Fetches members in a loop and checks every answer against what that version must contain."""

    def __init__(self, base: str, index: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.base, self.index, self.stop = base, index, stop
        self.requests = 0
        self.versions_seen: list[int] = []
        self.errors: list[str] = []
        self.tokens = {m: token(*m) for m in MEMBERS}

    def run(self) -> None:
        try:
            with httpx.Client(timeout=DEADLINE_SECONDS) as client:
                while not self.stop.is_set():
                    brand_id, user_id = MEMBERS[(self.index * 7 + self.requests) % len(MEMBERS)]
                    self.check(client, brand_id, user_id, gzip_ok=self.requests % 2 == 0)
                    self.requests += 1
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.errors.append(f"{type(error).__name__}: {error}")

    def check(self, client: httpx.Client, brand_id: int, user_id: int, gzip_ok: bool) -> None:
        url = f"{self.base}/v1/brands/{brand_id}/members/{user_id}/cards"
        headers = {"Authorization": f"Bearer {self.tokens[(brand_id, user_id)]}",
                   "Accept-Encoding": "gzip" if gzip_ok else "identity"}
        with client.stream("GET", url, headers=headers) as response:
            raw = b"".join(response.iter_raw())
        assert response.status_code == 200, response.status_code
        body = gzip.decompress(raw) if gzip_ok else raw
        digest = hashlib.sha256(body).hexdigest()
        assert response.headers["etag"] == (f'"{digest}-gz"' if gzip_ok else f'"{digest}"')
        document = orjson.loads(body)
        VALIDATOR.validate(document)
        version = int(response.headers["x-snapshot-version"])
        published = {card["explanation"]["details"]["published_version"] for card in document["cards"]}
        assert published == {revision_in(version, user_id)}, (published, version)
        # Exactly the bytes published for this member in that version: not a neighbour's, not a blend.
        assert body == document_bytes(versioned_document(brand_id, user_id, revision_in(version, user_id)))
        assert not self.versions_seen or version >= self.versions_seen[-1], "went back to an older version"
        self.versions_seen.append(version)


@pytest.mark.slow
def test_concurrent_readers_see_whole_versions_only(tmp_path: Path):
    data = tmp_path / "data"
    writer = CardStoreWriter(data / "cards")
    writer.publish(snapshot(1))
    stop = threading.Event()
    with running_server(settings_for(data)) as base:
        readers = [Reader(base, i, stop) for i in range(READERS)]
        for reader in readers:
            reader.start()
        try:
            for version in range(2, VERSIONS + 1):
                progress = sum(r.requests for r in readers)
                # Publish only once the readers are busy, so each switch happens under load.
                wait_until(lambda progress=progress: sum(r.requests for r in readers) >= progress + 2 * READERS
                           or any(r.errors for r in readers), "readers to make progress")
                assert writer.publish(snapshot(version)).version == version
            final = sum(r.requests for r in readers)
            wait_until(lambda: all(r.versions_seen and r.versions_seen[-1] == VERSIONS for r in readers)
                       or any(r.errors for r in readers), "every reader to see the last version")
        finally:
            stop.set()
            for reader in readers:
                reader.join(DEADLINE_SECONDS)
            writer.close()
    assert [error for r in readers for error in r.errors] == []
    seen = {v for r in readers for v in r.versions_seen}
    assert len(seen) >= 3 and VERSIONS in seen, seen
    assert final > 10 * READERS


PUBLISH_UNTIL_KILLED = """
import sys, time
from pathlib import Path
from publishing.card_store import CardStoreWriter
from tests.serving.helpers import document_bytes, versioned_document

def documents():
    for user_id in range(1, 2001):
        yield 1, user_id, document_bytes(versioned_document(1, user_id, 99))
        if user_id == 1000:
            print("midway", flush=True)  # half the new set is written inside the open transaction
            time.sleep(3600)

CardStoreWriter(Path(sys.argv[1])).publish(documents())
"""


def test_a_publish_killed_midway_leaves_the_old_version_serving(tmp_path: Path):
    data = tmp_path / "data"
    with CardStoreWriter(data / "cards") as writer:
        writer.publish(snapshot(1))
    with running_server(settings_for(data)) as base:
        publisher = subprocess.Popen([sys.executable, "-c", PUBLISH_UNTIL_KILLED, str(data / "cards")],
                                     cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        try:
            assert publisher.stdout.readline().strip() == "midway"
            during = httpx.get(f"{base}/v1/brands/1/members/1/cards", timeout=DEADLINE_SECONDS,
                               headers={"Authorization": f"Bearer {token(1, 1)}"})
            assert during.headers["x-snapshot-version"] == "1"
        finally:
            publisher.kill()
            publisher.wait(DEADLINE_SECONDS)
        for brand_id, user_id in [(1, 1), (1, 3), (2, 30)]:
            response = httpx.get(f"{base}/v1/brands/{brand_id}/members/{user_id}/cards", timeout=DEADLINE_SECONDS,
                                 headers={"Authorization": f"Bearer {token(brand_id, user_id)}"})
            assert response.status_code == 200
            assert response.headers["x-snapshot-version"] == "1"
            assert response.content == document_bytes(versioned_document(brand_id, user_id, 1))
        assert httpx.get(f"{base}/readyz", timeout=DEADLINE_SECONDS).json()["card_version"] == 1
        # The store is still writable after the kill: the next publish goes through and serves.
        with CardStoreWriter(data / "cards") as writer:
            assert writer.publish(snapshot(2)).version == 2
        after = httpx.get(f"{base}/v1/brands/1/members/1/cards", timeout=DEADLINE_SECONDS,
                          headers={"Authorization": f"Bearer {token(1, 1)}"})
        assert after.headers["x-snapshot-version"] == "2"
        assert after.content == document_bytes(versioned_document(1, 1, 2))
