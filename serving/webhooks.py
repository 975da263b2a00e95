"""POST /webhooks/customer-io: verify, classify and durably land Customer.io webhooks.

A request is answered 2xx only after its line is fsynced in the landing zone (see
webhook_sink). Every refusal is a 4xx/5xx, which Customer.io retries, so nothing that was
refused is lost and nothing acknowledged can be.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ingestion.sources import WEBHOOK_LANDING_LINE_MAX_BYTES
from serving.logs import log_event
from serving.settings import Settings
from serving.webhook_sink import WebhookSink

log = logging.getLogger("serving.webhooks")

SIGNATURE_HEADER = "x-cio-signature"
TIMESTAMP_HEADER = "x-cio-timestamp"
FOLDER = "customerio/webhooks"


def signature(key: bytes, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``v0:<timestamp>:<body>``, as Customer.io computes it."""
    return hmac.new(key, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()


def signature_valid(keys: Sequence[bytes], timestamp: str, body: bytes, given: str) -> bool:
    given_bytes = given.strip().lower().encode("latin-1", "replace")
    valid = False
    for key in keys:  # every key is tried, so timing does not tell which one matched
        valid |= hmac.compare_digest(signature(key, timestamp, body).encode(), given_bytes)
    return valid


def timestamp_fresh(timestamp: str, window: int, now: float | None = None) -> bool:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    now = time.time() if now is None else now
    return abs(now - int(timestamp)) <= window


def classify(payload: object) -> str | None:
    """``prediction`` (has predictions), ``reporting`` (has metric), else None."""
    if isinstance(payload, dict):
        if "predictions" in payload:
            return "prediction"
        if "metric" in payload:
            return "reporting"
    return None


def landing_line(kind: str, body: str, received_at: datetime | None = None) -> bytes:
    received_at = received_at or datetime.now(UTC)
    return orjson.dumps({"received_at": received_at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                         "kind": kind, "body": body}) + b"\n"


async def read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``cap`` (never buffers more)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(request: Request, status: int, error: str) -> Response:
    request.state.refusal = error  # for the access log
    return JSONResponse({"error": error}, status_code=status)


async def receive_webhook(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    sink: WebhookSink | None = request.app.state.webhook_sink
    if sink is None or not settings.webhook_signing_keys:
        return _refuse(request, 503, "receiver_not_configured")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not given:
        return _refuse(request, 401, "missing_signature")
    if not timestamp_fresh(timestamp, settings.webhook_replay_window):
        return _refuse(request, 401, "timestamp_outside_replay_window")
    body = await read_capped(request, settings.webhook_max_body)
    if body is None:
        return _refuse(request, 413, "body_too_large")
    if not signature_valid(settings.webhook_signing_keys, timestamp, body, given):
        return _refuse(request, 401, "bad_signature")
    try:
        payload = orjson.loads(body)  # also rejects bytes that are not UTF-8
    except orjson.JSONDecodeError:
        return _refuse(request, 400, "malformed_json")
    kind = classify(payload)
    if kind is None:
        return _refuse(request, 422, "unknown_webhook_kind")
    line = landing_line(kind, body.decode())
    if len(line) > WEBHOOK_LANDING_LINE_MAX_BYTES:  # whatever is acknowledged must be loadable
        return _refuse(request, 413, "body_too_large")
    try:
        await sink.append(line)
    except Exception as exc:  # noqa: BLE001 - not durable, so not acknowledged: Customer.io retries
        log_event(log, "webhook_not_stored", logging.ERROR, error=type(exc).__name__)
        return _refuse(request, 503, "not_stored")
    return JSONResponse({"status": "stored", "kind": kind})
