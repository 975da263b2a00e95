"""The card server follows the store file at its path: a replaced store is served, a deleted one is
empty, an unreadable one makes the service not ready (and answers 503, not 404), and none of it stops
the webhook receiver, at start or while running."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from publishing.card_store import CardStoreWriter, database_path
from tests.serving.helpers import (
    document_bytes,
    reporting_body,
    running_server,
    settings_for,
    token,
    versioned_document,
    webhook_request,
)


def publish(cards: Path, version_marker: int) -> bytes:
    body = document_bytes(versioned_document(1, 5, version=version_marker))
    with CardStoreWriter(cards) as writer:
        writer.publish([(1, 5, body)])
    return body


def read_cards(url: str) -> httpx.Response:
    return httpx.get(f"{url}/v1/brands/1/members/5/cards", headers={"Authorization": f"Bearer {token(1, 5)}",
                                                                      "Accept-Encoding": "identity"}, timeout=30)


def ready(url: str) -> httpx.Response:
    return httpx.get(f"{url}/readyz", timeout=30)


def webhook_stored(url: str, event_id: str) -> bool:
    response = httpx.post(f"{url}/webhooks/customer-io", timeout=30, **webhook_request(reporting_body(event_id)))
    return response.status_code == 200


def remove_store(cards: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database_path(cards)}{suffix}").unlink(missing_ok=True)


def test_a_replaced_deleted_or_corrupt_store_is_noticed_while_serving(tmp_path: Path):
    data = tmp_path / "data"
    first = publish(data / "cards", 1)
    with running_server(settings_for(data)) as url:
        assert read_cards(url).content == first and ready(url).json()["card_version"] == 1

        # Replaced (a restore, a copy from another machine): the new file is served, not the unlinked one.
        publish(tmp_path / "restore", 2)
        restored = publish(tmp_path / "restore", 3)  # the restored store's second version
        os.replace(database_path(tmp_path / "restore"), database_path(data / "cards"))
        assert read_cards(url).content == restored
        assert ready(url).json()["card_version"] == 2

        remove_store(data / "cards")  # deleted: nothing published, not ready
        assert read_cards(url).status_code == 404
        assert ready(url).json()["problems"] == ["no card version published"]

        database_path(data / "cards").write_bytes(b"this is not a database" * 1000)  # corrupt
        response = read_cards(url)
        assert response.status_code == 503 and response.headers["cache-control"] == "no-store"
        not_ready = ready(url)
        assert not_ready.status_code == 503 and not_ready.json()["problems"][0].startswith("card store unreadable")
        assert webhook_stored(url, "ev-while-corrupt")

        remove_store(data / "cards")
        publish(data / "cards", 4)  # repaired: served again
        assert ready(url).status_code == 200 and read_cards(url).status_code == 200


def test_a_corrupt_store_at_start_still_receives_webhooks(tmp_path: Path):
    data = tmp_path / "data"
    (data / "cards").mkdir(parents=True)
    database_path(data / "cards").write_bytes(b"garbage" * 5000)
    with running_server(settings_for(data)) as url:
        assert ready(url).json()["problems"][0].startswith("card store unreadable")
        assert read_cards(url).status_code == 503
        assert webhook_stored(url, "ev-at-start")


def test_a_store_that_cannot_be_opened_is_unreadable_not_empty(tmp_path: Path):
    data = tmp_path / "data"
    database_path(data / "cards").mkdir(parents=True)  # a directory where the store should be
    with running_server(settings_for(data)) as url:
        assert ready(url).json()["problems"][0].startswith("card store unreadable")
        assert read_cards(url).status_code == 503
