"""The Customer.io webhook receiver over real HTTP, and its landing segments."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import time
from pathlib import Path

import httpx
import pytest

from ingestion.loader import Loader
from ingestion.sources import CUSTOMERIO_WEBHOOKS
from ingestion.warehouse import connect
from serving.webhook_sink import Segment, recover_segments
from tests.serving.helpers import (
    WEBHOOK_KEY,
    landed_lines,
    prediction_body,
    reporting_body,
    running_server,
    settings_for,
    wait_until,
    webhook_request,
)

PREVIOUS_KEY = b"cio-previous-signing-key-9876543210fedcba"


@pytest.fixture
def receiver(tmp_path: Path):
    data = tmp_path / "data"
    settings = settings_for(data, webhook_signing_keys=(WEBHOOK_KEY, PREVIOUS_KEY), webhook_max_body=64 * 1024)
    with running_server(settings) as url:
        yield f"{url}/webhooks/customer-io", data / "landing"


def post(url: str, **kwargs) -> httpx.Response:
    return httpx.post(url, timeout=60, **kwargs)


def test_valid_webhooks_are_acknowledged_after_landing(receiver):
    url, landing = receiver
    reporting, prediction = reporting_body("ev-1"), prediction_body("5")
    first = post(url, **webhook_request(reporting))
    assert first.status_code == 200 and first.json() == {"status": "stored", "kind": "reporting"}
    second = post(url, **webhook_request(prediction, key=PREVIOUS_KEY))  # the key being rotated out
    assert second.status_code == 200 and second.json()["kind"] == "prediction"
    # Acknowledged = already in the open segment, on disk, before it is complete.
    lines = landed_lines(landing, complete_only=False)
    assert [(line["kind"], line["body"]) for line in lines] == [("reporting", reporting.decode()),
                                                                ("prediction", prediction.decode())]
    assert all(line["received_at"].endswith("Z") for line in lines)
    assert landed_lines(landing) == []  # still open: the loader cannot see it yet


@pytest.mark.parametrize("case, status, error", [
    ("wrong key", 401, "bad_signature"),
    ("tampered body", 401, "bad_signature"),
    ("stale timestamp", 401, "timestamp_outside_replay_window"),
    ("future timestamp", 401, "timestamp_outside_replay_window"),
    ("no signature", 401, "missing_signature"),
    ("oversize", 413, "body_too_large"),
    ("malformed json", 400, "malformed_json"),
    ("not utf-8", 400, "malformed_json"),
    ("unknown kind", 422, "unknown_webhook_kind"),
    ("not an object", 422, "unknown_webhook_kind"),
])
def test_refusals_land_nothing(receiver, case, status, error):
    url, landing = receiver
    body = reporting_body("ev-x")
    request = {
        "wrong key": lambda: webhook_request(body, key=b"some-other-signing-key-00000000000000"),
        "tampered body": lambda: {**webhook_request(body), "content": body.replace(b"ev-x", b"ev-y")},
        "stale timestamp": lambda: webhook_request(body, timestamp=int(time.time()) - 310),
        "future timestamp": lambda: webhook_request(body, timestamp=int(time.time()) + 310),
        "no signature": lambda: {"content": body},
        "oversize": lambda: webhook_request(b'{"metric": "x", "pad": "' + b"x" * 70_000 + b'"}'),
        "malformed json": lambda: webhook_request(b'{"metric": '),
        "not utf-8": lambda: webhook_request(b'{"metric": "\xff"}'),
        "unknown kind": lambda: webhook_request(b'{"event_id": "e", "data": {}}'),
        "not an object": lambda: webhook_request(b'[{"metric": "sent"}]'),
    }[case]()
    response = post(url, **request)
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert landed_lines(landing, complete_only=False) == []


def test_an_oversize_streamed_body_is_refused_before_it_ends(receiver):
    """A chunked body with no length: the 413 arrives while the body is still open, so the
    server stopped reading at the cap instead of buffering to the end."""
    url, landing = receiver
    host, port = httpx.URL(url).host, httpx.URL(url).port
    head = webhook_request(b"")["headers"]
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(f"POST /webhooks/customer-io HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
                     f"X-CIO-Timestamp: {head['X-CIO-Timestamp']}\r\nX-CIO-Signature: {head['X-CIO-Signature']}"
                     "\r\n\r\n".encode())
        for _ in range(2):  # 128 KiB, over the 64 KiB cap, and never the final empty chunk
            sock.sendall(b"10000\r\n" + b"x" * 65_536 + b"\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 413 ")
    assert landed_lines(landing, complete_only=False) == []


def test_200_concurrent_posts_all_land_exactly_once(receiver):
    url, landing = receiver
    bodies = [reporting_body(f"ev-{i}") if i % 2 else prediction_body(str(i)) for i in range(200)]

    async def send_all() -> list[int]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            responses = await asyncio.gather(*(client.post(url, **webhook_request(b)) for b in bodies))
        return [r.status_code for r in responses]

    assert asyncio.run(send_all()) == [200] * 200
    landed = sorted(line["body"] for line in landed_lines(landing, complete_only=False))
    assert landed == sorted(b.decode() for b in bodies)


def test_segments_rotate_into_complete_files(tmp_path: Path):
    data = tmp_path / "data"
    settings = settings_for(data, webhook_rotate_seconds=0.2, webhook_rotate_bytes=10_000_000)
    with running_server(settings) as url:
        assert post(f"{url}/webhooks/customer-io", **webhook_request(reporting_body("r-1"))).status_code == 200
        wait_until(lambda: len(landed_lines(data / "landing")) == 1, "the segment to rotate")
        assert post(f"{url}/webhooks/customer-io", **webhook_request(reporting_body("r-2"))).status_code == 200
    # Shutdown finished the second segment: two complete files, nothing temporary left.
    folder = data / "landing" / "customerio" / "webhooks"
    assert [p.suffix for p in folder.rglob("*") if p.is_file()] == [".ndjson", ".ndjson"]
    assert [json.loads(line["body"])["event_id"] for line in landed_lines(data / "landing")] == ["r-1", "r-2"]


def test_size_rotation(tmp_path: Path):
    data = tmp_path / "data"
    with running_server(settings_for(data, webhook_rotate_bytes=1)) as url:
        for i in range(3):  # one after the other: each is its own commit, and each fills a segment
            assert post(f"{url}/webhooks/customer-io", **webhook_request(reporting_body(f"s-{i}"))).status_code == 200
    files = sorted((data / "landing").rglob("*.ndjson"))
    assert [len(path.read_bytes().splitlines()) for path in files] == [1, 1, 1]


def test_recovery_finishes_dead_segments_and_leaves_live_ones(tmp_path: Path):
    root = tmp_path / "webhooks"
    dead = Segment(root)
    dead.append(b'{"n": 1}\n{"n": 2}\n')
    os.write(dead.fd, b'{"n": 3, "half')  # a line being written when the process died
    fcntl.flock(dead.fd, fcntl.LOCK_UN)  # the dead process's lock is gone
    empty_dead = Segment(root)
    fcntl.flock(empty_dead.fd, fcntl.LOCK_UN)
    live = Segment(root)
    live.append(b'{"n": 4}\n')
    # flock locks belong to the open file description, so a separate open() here competes
    # with `live` exactly as another worker process would.
    recovered = recover_segments(root)
    assert recovered == [dead.path.with_name(dead.path.name.removesuffix(".tmp"))]
    assert recovered[0].read_bytes() == b'{"n": 1}\n{"n": 2}\n'
    assert not empty_dead.path.exists() and not dead.path.exists()
    assert live.path.exists()  # a live worker's segment is never taken
    assert recover_segments(root) == []
    final = live.finish()
    assert final.read_bytes() == b'{"n": 4}\n'
    for fd in (dead.fd, empty_dead.fd):
        os.close(fd)


def test_every_body_the_receiver_acknowledges_loads(tmp_path: Path):
    """The largest body the receiver accepts, made of characters its landing line must escape, loads."""
    data = tmp_path / "data"
    settings = settings_for(data)
    envelope = json.dumps({"event_id": "ev-big", "metric": "delivered", "timestamp": 1763640000,
                           "object_type": "email", "data": {"quoted": ""}})
    body = envelope.replace('"quoted": ""', '"quoted": "' + '\\"' * ((settings.webhook_max_body - len(envelope)) // 2) + '"')
    body = body.encode()
    assert settings.webhook_max_body - 2 <= len(body) <= settings.webhook_max_body
    with running_server(settings) as url:
        response = post(f"{url}/webhooks/customer-io", **webhook_request(body))
    assert response.status_code == 200
    [line] = landed_lines(data / "landing")  # the server closed its segment on the way out
    assert line["body"] == body.decode()

    with connect(data / "warehouse.duckdb") as con:
        [result] = Loader(con, data / "landing").load_source(CUSTOMERIO_WEBHOOKS)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 0)


def test_a_body_cap_over_what_the_loader_accepts_is_refused_at_start(tmp_path: Path):
    with pytest.raises(ValueError, match="largest body the loader accepts"):
        settings_for(tmp_path / "data", webhook_max_body=2 << 20)
