"""A fake Customer.io in a thread of the test process, and small request builders."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from fake_customerio import DEFAULT_WORKSPACES, FakeCustomerIO

SITE = DEFAULT_WORKSPACES[0]
OTHER_SITE = DEFAULT_WORKSPACES[1]
ULID_1 = "01JD2N4Z5K8Q9R0S1T2V3W4X5Y"
ULID_2 = "01JD2N4Z5K8Q9R0S1T2V3W4X5Z"


@pytest.fixture
def fake() -> Iterator[FakeCustomerIO]:
    with FakeCustomerIO().start_thread() as running:
        yield running


@pytest.fixture
def track(fake: FakeCustomerIO) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, auth=(SITE.site_id, SITE.api_key), timeout=30) as client:
        yield client


@pytest.fixture
def app_api(fake: FakeCustomerIO) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.app_base_url, headers={"Authorization": f"Bearer {SITE.app_api_key}"},
                      timeout=30) as client:
        yield client


def identify(person_id: str, **attributes) -> dict:
    return {"type": "person", "identifiers": {"id": person_id}, "action": "identify", "attributes": attributes}


def event(person_id: str, name: str = "purchase", event_id: str | None = ULID_1, **attributes) -> dict:
    item = {"type": "person", "identifiers": {"id": person_id}, "action": "event", "name": name,
            "attributes": attributes, "timestamp": 1_795_000_000}
    if event_id is not None:
        item["id"] = event_id
    return item
