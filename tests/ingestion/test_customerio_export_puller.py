"""The App API export puller against the fake Customer.io, landing files the real loader accepts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fake_customerio import DEFAULT_WORKSPACES, FakeCustomerIO
from ingestion.customerio_exports import (
    AppApiSettings,
    ExportFailed,
    ExportTimedOut,
    SlidingWindowLimiter,
    pull_people_export,
)
from ingestion.sources import CUSTOMERIO_EXPORTS
from tests.ingestion.helpers import load, query

SITE = DEFAULT_WORKSPACES[0]
EXPORT_ROUTE = "/v1/exports/{export_id}"
DOWNLOAD_ROUTE = "/v1/exports/{export_id}/download"
SIGNED_ROUTE = "/signed-downloads/{token}"


@pytest.fixture
def fake() -> Iterator[FakeCustomerIO]:
    with FakeCustomerIO().start_thread() as running:
        running.seed_people(SITE.site_id, [
            {"id": "u1", "attributes": {"plan": "gold", "points": 120}, "segments": [1, 2]},
            {"id": "u2", "attributes": {"plan": "free", "tags": ["a", "b"]}},
            {"email": "anon@example.com", "attributes": {"plan": "free"}, "segments": [2]},
            {"cio_id": "cio-only", "attributes": {}},
        ])
        yield running


def pull(fake: FakeCustomerIO, landing: Path, **options) -> Path:
    options = {"poll_interval": 0.01, "timeout": 60.0, "backoff_seconds": 0.02, **options}
    return pull_people_export(fake.app_base_url, SITE.app_api_key, landing, **options)


def test_landed_export_loads_every_person_and_quarantines_nothing(fake, data_dir):
    fake.export_settings(ready_after_polls=3)
    path = pull(fake, data_dir.landing)
    assert path.parent == data_dir.landing / "customerio/exports"
    assert path.name.startswith("people-") and path.name.endswith(".csv.gz")
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind
    [result] = load(data_dir.warehouse, data_dir.landing, CUSTOMERIO_EXPORTS)
    assert (result.rows_loaded, result.rows_quarantined) == (4, 0)
    rows = query(data_dir.warehouse, "SELECT coalesce(id, email, cio_id), attributes ->> 'plan', segments "
                                     "FROM raw.customerio_exports ORDER BY 1")
    assert [(r[0], r[1]) for r in rows] == [("anon@example.com", "free"), ("cio-only", None),
                                            ("u1", "gold"), ("u2", "free")]
    assert query(data_dir.warehouse, "SELECT count(*) FROM audit.quarantine") == [(0,)]


def test_the_puller_stays_within_10_requests_per_second(fake, data_dir):
    fake.export_settings(ready_after_polls=25)  # ~27 App API calls, polled as fast as allowed
    pull(fake, data_dir.landing, poll_interval=0.0)
    assert fake.app_api_max_per_second() <= 10
    assert fake.requests()[EXPORT_ROUTE, "429"] == 0


def test_429_from_the_rate_limit_is_retried_not_raised(fake, data_dir):
    fake.export_settings(ready_after_polls=15)
    # A client limit above the server's: the server refuses some polls, the puller retries them.
    path = pull(fake, data_dir.landing, poll_interval=0.0, requests_per_second=1000)
    assert fake.requests()[EXPORT_ROUTE, "429"] >= 1
    assert path.exists()


def test_5xx_and_connection_errors_are_retried(fake, data_dir):
    fake.inject("503", path_prefix="/v1/exports/customers")
    fake.inject("500", count=2, path_prefix="/v1/exports/1")
    fake.inject("reset_before", path_prefix="/v1/exports/1/download")
    fake.inject("500", path_prefix="/signed-downloads/")
    fake.inject("reset_after", path_prefix="/signed-downloads/")
    path = pull(fake, data_dir.landing)
    requests = fake.requests()
    assert requests["/v1/exports/customers", "503"] == 1
    assert requests[SIGNED_ROUTE, "500"] == 1 and requests[SIGNED_ROUTE, "reset_after"] == 1
    [result] = load(data_dir.warehouse, data_dir.landing, CUSTOMERIO_EXPORTS)
    assert (result.rows_loaded, result.rows_quarantined) == (4, 0)
    assert path.exists()


def test_an_expired_download_url_is_fetched_again(fake, data_dir):
    fake.export_settings(ready_after_polls=0, expire_next_urls=2)
    pull(fake, data_dir.landing)
    requests = fake.requests()
    assert requests[SIGNED_ROUTE, "403"] == 2
    assert requests[DOWNLOAD_ROUTE, "200"] == 3
    assert requests[SIGNED_ROUTE, "200"] == 1


def test_urls_that_keep_expiring_end_in_a_clear_error(fake, data_dir):
    fake.export_settings(ready_after_polls=0, expire_next_urls=100)
    with pytest.raises(ExportFailed, match="expired"):
        pull(fake, data_dir.landing)
    assert not any((data_dir.landing / "customerio/exports").iterdir())


def test_a_failed_export_raises_a_clear_error_and_lands_nothing(fake, data_dir):
    fake.export_settings(ready_after_polls=1, fail_next=1)
    with pytest.raises(ExportFailed, match="export 1 failed"):
        pull(fake, data_dir.landing)
    assert not any((data_dir.landing / "customerio/exports").iterdir())


def test_an_export_still_pending_at_the_timeout_raises(fake, data_dir):
    fake.export_settings(ready_after_polls=10_000)
    with pytest.raises(ExportTimedOut, match="pending"):
        pull(fake, data_dir.landing, poll_interval=0.05, timeout=0.3)


def test_a_wrong_key_fails_at_once(fake, data_dir):
    with pytest.raises(httpx.HTTPStatusError, match="401"):
        pull_people_export(fake.app_base_url, "wrong-key", data_dir.landing, poll_interval=0.01)
    assert fake.requests()["/v1/exports/customers", "401"] == 1  # not retried


def test_two_pulls_in_the_same_second_land_two_files(fake, data_dir):
    fake.export_settings(ready_after_polls=0)
    first, second = pull(fake, data_dir.landing), pull(fake, data_dir.landing)
    assert first != second and first.exists() and second.exists()


def test_settings_from_the_environment():
    assert AppApiSettings.from_env({}) == AppApiSettings("https://api.customer.io", None)
    assert not AppApiSettings.from_env({}).configured
    eu = AppApiSettings.from_env({"CUSTOMERIO_REGION": "EU", "CUSTOMERIO_APP_API_KEY": "k"})
    assert (eu.base_url, eu.configured) == ("https://api-eu.customer.io", True)
    local = AppApiSettings.from_env({"CUSTOMERIO_APP_API_URL": "http://127.0.0.1:9/", "CUSTOMERIO_REGION": "eu"})
    assert local.base_url == "http://127.0.0.1:9"
    assert "secret-key" not in repr(AppApiSettings("https://x", "secret-key"))
    with pytest.raises(ValueError, match="CUSTOMERIO_REGION"):
        AppApiSettings.from_env({"CUSTOMERIO_REGION": "mars"})


def test_limiter_holds_the_next_request_until_the_oldest_leaves_the_window():
    limiter = SlidingWindowLimiter(rate=3, period=0.3)
    starts, ends = [], []
    for _ in range(7):
        with limiter.slot():
            starts.append(time.monotonic())
        ends.append(time.monotonic())
    # A lower bound only (a loaded machine makes gaps longer, never shorter).
    assert all(starts[i] - ends[i - 3] >= 0.3 for i in range(3, 7))
