"""Customer.io App API people export puller: request an export, poll it, download it, land it.

Lands `customerio/exports/people-<YYYYMMDDTHHMMSSZ>.csv.gz` (the stamp is when the export was
requested) through a temporary name, fsync and rename, so the loader never sees a partial file.
App API calls stay within its 10 requests/s limit; 429, 5xx and connection errors are retried with
exponential backoff and jitter; an expired signed download URL (403) is asked for again.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from ingestion.durable import move_into_place

APP_API_URL_ENV = "CUSTOMERIO_APP_API_URL"
APP_API_KEY_ENV = "CUSTOMERIO_APP_API_KEY"
REGION_ENV = "CUSTOMERIO_REGION"
REGION_URLS = {"us": "https://api.customer.io", "eu": "https://api-eu.customer.io"}
EXPORTS_FOLDER = "customerio/exports"
# Customer.io requires a filter; this one matches every person who has an id or an email.
EVERYONE = {"or": [{"attribute": {"field": "id", "operator": "exists"}},
                   {"attribute": {"field": "email", "operator": "exists"}}]}
MAX_URL_REFRESHES = 3  # an expired signed URL is asked for again at most this many times
GZIP_MAGIC = b"\x1f\x8b"


class ExportFailed(RuntimeError):
    """Customer.io reported the export as failed, or its file could not be fetched."""


class ExportTimedOut(TimeoutError):
    """The export was still pending when the puller's timeout ran out."""


@dataclass(frozen=True)
class AppApiSettings:
    base_url: str
    api_key: str | None = field(default=None, repr=False)  # a secret: never shown

    @property
    def configured(self) -> bool:
        """Without a key the export asset skips: there is nothing to pull."""
        return bool(self.api_key)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> AppApiSettings:
        region = environ.get(REGION_ENV, "us").strip().lower() or "us"
        if region not in REGION_URLS:
            raise ValueError(f"{REGION_ENV} must be one of {sorted(REGION_URLS)}, not {region!r}")
        base_url = environ.get(APP_API_URL_ENV) or REGION_URLS[region]
        return cls(base_url.rstrip("/"), environ.get(APP_API_KEY_ENV) or None)


class SlidingWindowLimiter:
    """At most `rate` requests in any `period` seconds, for one caller making requests in turn.

    A request counts from when its response arrived, so however late it reached the server, the
    server's own sliding window has already let it go when the next one is sent. (A leaky bucket
    such as aiolimiter's lets up to twice the rate through in one second after an idle spell.)
    """

    def __init__(self, rate: int, period: float = 1.0) -> None:
        self.rate, self.period = rate, period
        self._done: deque[float] = deque()

    @contextmanager
    def slot(self) -> Iterator[None]:
        while len(self._done) >= self.rate:
            wait = self._done[0] + self.period - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                self._done.popleft()
        try:
            yield
        finally:
            self._done.append(time.monotonic())


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


class _Puller:
    def __init__(self, client: httpx.Client, base_url: str, api_key: str, requests_per_second: int,
                 retry_attempts: int, backoff_seconds: float) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._limiter = SlidingWindowLimiter(requests_per_second)
        self._backoff = wait_random_exponential(multiplier=backoff_seconds, max=30 * backoff_seconds)
        self._retrying = Retrying(retry=retry_if_exception(_retryable), stop=stop_after_attempt(retry_attempts),
                                  wait=self._wait, reraise=True)

    def _wait(self, retry_state: RetryCallState) -> float:
        """Exponential backoff with jitter; after a 429 at least Retry-After, else one rate-limit window
        (the server's second is full: retrying sooner only collects more 429s)."""
        delay = self._backoff(retry_state)
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, httpx.HTTPStatusError) and error.response.status_code == 429:
            retry_after = error.response.headers.get("Retry-After", "")
            delay = max(delay, float(retry_after) if retry_after.isdigit() else self._limiter.period)
        return delay

    def app_api(self, method: str, path: str, body: dict | None = None) -> dict:
        def call() -> dict:
            with self._limiter.slot():
                response = self.client.request(method, self.base_url + path, json=body, headers=self._auth)
            response.raise_for_status()
            return response.json()

        return self._retrying(call)

    def wait_until_done(self, export_id: int, poll_interval: float, deadline: float) -> None:
        while True:
            export = self.app_api("GET", f"/v1/exports/{export_id}")["export"]
            if export["status"] == "done":
                return
            if export["status"] == "failed" or export.get("failed"):
                raise ExportFailed(f"Customer.io export {export_id} failed")
            if time.monotonic() + poll_interval > deadline:
                raise ExportTimedOut(f"Customer.io export {export_id} still {export['status']!r} at the timeout")
            time.sleep(poll_interval)

    def download(self, export_id: int, target: Path) -> None:
        """Fetch the export file into `target`, asking for a fresh signed URL when one has expired."""
        for _ in range(MAX_URL_REFRESHES + 1):
            url = self.app_api("GET", f"/v1/exports/{export_id}/download")["url"]
            if self._retrying(self._fetch, url, target):
                return
        raise ExportFailed(f"the download URL of export {export_id} was expired {MAX_URL_REFRESHES + 1} times")

    def _fetch(self, url: str, target: Path) -> bool:
        """False when the signed URL has expired. No Authorization header: the URL carries its signature."""
        with self.client.stream("GET", url) as response:
            if response.status_code == 403:
                return False
            response.raise_for_status()
            with target.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        return True


def _land(tmp: Path, folder: Path, stamp: str, export_id: int) -> Path:
    with tmp.open("rb") as f:
        gzipped = f.read(2) == GZIP_MAGIC
    suffix = ".csv.gz" if gzipped else ".csv"
    path = folder / f"people-{stamp}{suffix}"
    if path.exists():  # another export requested within the same second: never overwrite a landed file
        path = folder / f"people-{stamp}-{export_id}{suffix}"
    move_into_place(tmp, path)
    return path


def pull_people_export(app_base_url: str, api_key: str, landing: Path, *, filters: dict | None = None,
                       attributes: list[str] | None = None, poll_interval: float = 5.0, timeout: float = 1800.0,
                       requests_per_second: int = 10, client: httpx.Client | None = None,
                       retry_attempts: int = 8, backoff_seconds: float = 0.5) -> Path:
    """Request a people export (`filters` default: everyone with an id or email), wait for it, and land
    it in `landing/customerio/exports/`. Returns the landed file. Raises ExportFailed, ExportTimedOut,
    or httpx.HTTPStatusError for a refusal that retrying cannot fix (401, 400 ...)."""
    own_client = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(60.0, connect=10.0))
    folder = landing / EXPORTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    try:
        puller = _Puller(client, app_base_url, api_key, requests_per_second, retry_attempts, backoff_seconds)
        deadline = time.monotonic() + timeout
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        body: dict = {"filters": filters or EVERYONE}
        if attributes is not None:
            body["attributes"] = attributes
        export_id = puller.app_api("POST", "/v1/exports/customers", body)["export"]["id"]
        puller.wait_until_done(export_id, poll_interval, deadline)
        tmp = folder / f".people-{stamp}-{export_id}.part"  # a name the loader never reads
        try:
            puller.download(export_id, tmp)
            return _land(tmp, folder, stamp, export_id)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        if own_client:
            client.close()
