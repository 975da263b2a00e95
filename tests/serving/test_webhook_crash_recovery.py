"""SIGKILL the receiver while it acknowledges webhooks, restart it, load the landing zone twice:
every acknowledged webhook is ingested exactly once."""

from __future__ import annotations

import pytest

import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx

from ingestion.loader import Loader
from ingestion.sources import CUSTOMERIO_WEBHOOKS
from ingestion.warehouse import connect
from tests.serving.helpers import (
    DEADLINE_SECONDS,
    TOKEN_KEYS_TEXT,
    WEBHOOK_KEY,
    ServerProcess,
    reporting_body,
    wait_until,
    webhook_request,
)


def load_webhooks(data: Path) -> list:
    con = connect(data / "warehouse.duckdb")
    try:
        return Loader(con, data / "landing", now=datetime.now(UTC)).load_source(CUSTOMERIO_WEBHOOKS)
    finally:
        con.close()


def ingested_event_ids(data: Path) -> list[str]:
    con = connect(data / "warehouse.duckdb")
    try:
        return [row[0] for row in con.execute(
            f"SELECT json_extract_string(body, '$.event_id') FROM {CUSTOMERIO_WEBHOOKS.table}").fetchall()]
    finally:
        con.close()


class Poster(threading.Thread):
    """Posts numbered webhooks until the server goes away; remembers which were acknowledged."""

    def __init__(self, url: str, prefix: str):
        super().__init__(daemon=True)
        self.url, self.prefix = url, prefix
        self.acknowledged: list[str] = []
        self.sent: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=DEADLINE_SECONDS) as client:
            for n in range(100_000):
                event_id = f"{self.prefix}-{n}"
                self.sent.append(event_id)
                try:
                    response = client.post(self.url, **webhook_request(reporting_body(event_id)))
                except httpx.TransportError:
                    return  # killed: this one may or may not be on disk, but it was never acknowledged
                if response.status_code == 200:
                    self.acknowledged.append(event_id)


@pytest.mark.slow
def test_acknowledged_webhooks_survive_sigkill_and_load_exactly_once(tmp_path: Path):
    data = tmp_path / "data"
    env = {"SYNERGY_DATA_DIR": str(data), "SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS_TEXT,
           "CUSTOMERIO_WEBHOOK_SIGNING_KEY": WEBHOOK_KEY.decode()}
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        posters = [Poster(f"{server.url}/webhooks/customer-io", f"p{i}") for i in range(4)]
        for poster in posters:
            poster.start()
        wait_until(lambda: sum(len(p.acknowledged) for p in posters) >= 200, "200 acknowledged webhooks")
        server.kill()
        for poster in posters:
            poster.join(DEADLINE_SECONDS)
        acknowledged = [e for p in posters for e in p.acknowledged]
        sent = {e for p in posters for e in p.sent}
        folder = data / "landing" / "customerio" / "webhooks"
        assert list(folder.rglob("*.ndjson.tmp")), "the killed receiver left its open segment"

        server.start()  # recovery finishes the dead worker's segment
        assert not list(folder.rglob("*.ndjson.tmp"))
        client_ids = [f"after-{n}" for n in range(5)]
        for event_id in client_ids:
            response = httpx.post(f"{server.url}/webhooks/customer-io", timeout=DEADLINE_SECONDS,
                                  **webhook_request(reporting_body(event_id)))
            assert response.status_code == 200
        acknowledged += client_ids
        sent |= set(client_ids)
    finally:
        server.stop()  # a clean stop completes the open segment

    first = load_webhooks(data)
    assert first and all(r.status == "loaded" and r.rows_quarantined == 0 for r in first), [r.as_dict() for r in first]
    assert load_webhooks(data) == []  # nothing new the second time
    ingested = ingested_event_ids(data)
    assert len(ingested) == len(set(ingested))  # never twice
    assert set(acknowledged) <= set(ingested)  # nothing acknowledged is lost
    assert set(ingested) <= sent  # and nothing invented
