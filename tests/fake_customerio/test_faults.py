"""Injected faults: status codes, delays past the client timeout, resets before/after processing, throttling."""

from __future__ import annotations

import time

import httpx
import pytest

from fake_customerio.faults import Fault
from tests.fake_customerio.conftest import SITE, ULID_1, event, identify

BATCH = "/api/v2/batch"


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_status_faults_answer_the_next_n_requests_and_apply_nothing(fake, track, kind):
    fake.inject(kind, count=2)
    statuses = [track.post(BATCH, json={"batch": [event("u1")]}).status_code for _ in range(3)]
    assert statuses == [int(kind), int(kind), 200]
    assert fake.receipts(SITE.site_id) == {ULID_1: 1}


def test_a_fault_only_hits_paths_under_its_prefix(fake, track, app_api):
    fake.inject("500", path_prefix="/v1/exports")
    assert track.post(BATCH, json={"batch": [identify("u1")]}).status_code == 200
    assert app_api.post("/v1/exports/customers", json={"filters": {"segment": {"id": 1}}}).status_code == 500
    assert app_api.post("/v1/exports/customers", json={"filters": {"segment": {"id": 1}}}).status_code == 200


def test_delay_outlasts_the_client_timeout_but_the_request_is_still_applied(fake):
    fake.inject("delay", seconds=1.0)
    with (httpx.Client(base_url=fake.base_url, auth=(SITE.site_id, SITE.api_key), timeout=0.2) as impatient,
          pytest.raises(httpx.TimeoutException)):
        impatient.post(BATCH, json={"batch": [event("u1")]})
    deadline = time.monotonic() + 60  # generous: the box may be loaded
    while not fake.receipts(SITE.site_id) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the fake's state until the delayed request has been applied
    assert fake.receipts(SITE.site_id) == {ULID_1: 1}


def test_reset_before_processing_loses_the_request(fake, track):
    fake.inject("reset_before")
    with pytest.raises(httpx.TransportError):
        track.post(BATCH, json={"batch": [event("u1")]})
    assert fake.receipts(SITE.site_id) == {}
    assert fake.requests()[BATCH, "reset_before"] == 1


def test_reset_after_processing_applies_the_batch_and_a_resend_is_deduplicated(fake, track):
    fake.inject("reset_after")
    with pytest.raises(httpx.TransportError):
        track.post(BATCH, json={"batch": [event("u1")]})
    assert fake.delivered(SITE.site_id) == {ULID_1: 1}
    assert track.post(BATCH, json={"batch": [event("u1")]}).status_code == 200  # the client's retry
    assert fake.receipts(SITE.site_id) == {ULID_1: 2}
    assert fake.delivered(SITE.site_id) == {ULID_1: 1}
    assert fake.requests()[BATCH, "reset_after"] == 1


def test_throttle_answers_429_beyond_the_rate_and_can_be_lifted(fake, track):
    fake.throttle(2)
    statuses = [track.post(BATCH, json={"batch": [identify("u1")]}).status_code for _ in range(20)]
    # Only a box taking over 450 ms per loopback request would spread these thin enough to avoid a 429.
    assert statuses.count(429) >= 1 and statuses.count(200) >= 2
    fake.throttle(None)
    assert track.post(BATCH, json={"batch": [identify("u1")]}).status_code == 200


def test_clear_faults_drops_pending_ones(fake, track):
    fake.inject("500", count=5)
    fake.clear_faults()
    assert track.post(BATCH, json={"batch": [identify("u1")]}).status_code == 200


def test_unknown_fault_kinds_are_refused(fake):
    with pytest.raises(ValueError):
        Fault("teapot", 1)
    with pytest.raises(httpx.HTTPStatusError):
        fake.inject("teapot")
