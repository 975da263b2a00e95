"""An async client for Customer.io's Track API v2 `/api/v2/batch`.

What the official client does not: it keeps a pooled keep-alive connection set for concurrent
batches, honours a client-side rate limit (Customer.io documents none it enforces strictly, so we
stay polite), retries 429, 5xx, timeouts and connection resets with exponential backoff and full
jitter, and reads a 207's per-item errors instead of treating it as success.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
import orjson
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class ItemError:
    batch_index: int
    reason: str
    field: str | None
    message: str


@dataclass
class BatchResult:
    status: int
    errors: list[ItemError] = field(default_factory=list)
    attempts: int = 1


class RetryableResponse(Exception):
    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


class BatchRejected(Exception):
    """400 (the whole request is invalid) or 413 (too large): retrying the same body cannot help."""

    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:500]}")
        self.status = status
        self.text = text


class DeliveryFailed(Exception):
    """Credentials refused, or retries exhausted: the batch stays queued for the next run."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    backoff_seconds: float = 0.2  # first wait is up to this; doubles each attempt (full jitter)
    max_backoff_seconds: float = 20.0


class TrackClient:
    def __init__(self, base_url: str, site_id: str, api_key: str, *, requests_per_second: float = 100,
                 timeout_seconds: float = 10.0, max_connections: int = 8, retry: RetryPolicy = RetryPolicy(),
                 verify: bool | str = True):
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), auth=(site_id, api_key), timeout=timeout_seconds, verify=verify,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Content-Type": "application/json", "User-Agent": "synergy-activation"})
        # A bucket of one request refilled every 1/rate seconds: evenly paced, so no one-second window
        # ever sees more than the rate (a bucket of a whole second would allow double at its edges).
        self._limiter = AsyncLimiter(1, 1 / requests_per_second)
        self._retry = retry
        self.retries = 0  # retried attempts over the client's life, for metadata

    async def __aenter__(self) -> TrackClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send_batch(self, body: bytes) -> BatchResult:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.max_attempts),
            wait=wait_random_exponential(multiplier=self._retry.backoff_seconds, max=self._retry.max_backoff_seconds),
            retry=retry_if_exception_type((RetryableResponse, httpx.TransportError)),
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    if attempts > 1:
                        self.retries += 1
                    result = await self._post_once(body)
                    result.attempts = attempts
                    return result
        except RetryError as exhausted:
            raise DeliveryFailed(f"gave up after {attempts} attempts: {exhausted.last_attempt.exception()}") from None
        raise AssertionError("unreachable")

    async def _post_once(self, body: bytes) -> BatchResult:
        async with self._limiter:
            response = await self._http.post("/api/v2/batch", content=body)
        status = response.status_code
        if status in RETRYABLE_STATUS:
            raise RetryableResponse(status, response.text)
        if status in (401, 403):
            raise DeliveryFailed(f"HTTP {status}: Customer.io refused the credentials")
        if status in (400, 413):
            raise BatchRejected(status, response.text)
        if status == 207:
            return BatchResult(status, parse_item_errors(response.content))
        if 200 <= status < 300:
            return BatchResult(status)
        raise DeliveryFailed(f"unexpected HTTP {status}: {response.text[:200]}")


def parse_item_errors(content: bytes) -> list[ItemError]:
    """`{"errors": [{"batch_index", "reason", "field", "message"}]}`; a body we cannot read names no item."""
    try:
        errors = orjson.loads(content).get("errors") or []
    except (orjson.JSONDecodeError, AttributeError):
        return []
    return [ItemError(int(e["batch_index"]), str(e.get("reason") or "invalid"), e.get("field"), str(e.get("message") or ""))
            for e in errors if isinstance(e, dict) and isinstance(e.get("batch_index"), int)]
