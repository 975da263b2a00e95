"""Customer.io's own Python client (`customerio`, HTTPS only) works against the fake over TLS."""

from __future__ import annotations

from collections.abc import Iterator

import customerio
import pytest

from fake_customerio import FakeCustomerIO
from tests.fake_customerio.conftest import SITE, ULID_1, event, identify


@pytest.fixture
def tls_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCustomerIO]:
    with FakeCustomerIO(tls=True).start_thread() as running:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", running.ca_file)  # how `requests` is told to trust the CA
        yield running


@pytest.fixture
def client(tls_fake: FakeCustomerIO) -> Iterator[customerio.CustomerIO]:
    port = int(tls_fake.base_url.rsplit(":", 1)[1])
    with customerio.CustomerIO(SITE.site_id, SITE.api_key, host="127.0.0.1", port=port, retries=2) as cio:
        yield cio


def test_v1_calls_of_the_official_client(tls_fake, client):
    client.identify("u1", email="u1@example.com", points=10)
    client.identify("u1", points=20)
    client.track("u1", "purchase", data={"amount": 5}, id=ULID_1)
    client.track("u1", "purchase", data={"amount": 5}, id=ULID_1)  # a resend
    client.identify("u2")
    client.delete("u2")
    client.identify("u3")
    client.suppress("u3")
    assert tls_fake.people(SITE.site_id)["id:u1"]["attributes"] == {"email": "u1@example.com", "points": 20}
    assert tls_fake.events(SITE.site_id)[ULID_1]["attributes"] == {"amount": 5}
    assert tls_fake.receipts(SITE.site_id) == {ULID_1: 2}
    assert tls_fake.delivered(SITE.site_id) == {ULID_1: 1}
    assert set(tls_fake.deleted(SITE.site_id)) == {"id:u2"}
    assert set(tls_fake.suppressed(SITE.site_id)) == {"id:u3"}


def test_v1_event_with_a_bad_id_is_refused(client):
    with pytest.raises(customerio.CustomerIOException, match="400"):
        client.track("u1", "purchase", id="not-a-ulid")


def test_batch_of_the_official_client_goes_to_v2(tls_fake, client):
    client.batch([identify("u1", plan="gold"), event("u1")])
    assert tls_fake.people(SITE.site_id)["id:u1"]["attributes"] == {"plan": "gold"}
    assert tls_fake.requests()["/api/v2/batch", "200"] == 1


def test_the_official_client_retries_a_503(tls_fake, client):
    tls_fake.inject("503", path_prefix="/api/v1/")
    client.identify("u1", plan="gold")
    assert tls_fake.requests()["/api/v1/customers/{id}", "503"] == 1
    assert tls_fake.people(SITE.site_id)["id:u1"]["attributes"] == {"plan": "gold"}


def test_bad_credentials_are_refused(tls_fake):
    port = int(tls_fake.base_url.rsplit(":", 1)[1])
    with (customerio.CustomerIO(SITE.site_id, "wrong", host="127.0.0.1", port=port) as cio,
          pytest.raises(customerio.CustomerIOException, match="401")):
        cio.identify("u1")
