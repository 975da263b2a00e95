"""One structured JSON access-log line per HTTP request.

Logged: method, path (it carries brand and member ids, never a token: tokens travel in the
Authorization header, which is never logged; the query string is not logged either), status,
response bytes, duration, request id and, for refusals, the reason a handler recorded in
``request.state.refusal``.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.logs import log_event

log = logging.getLogger("serving.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        # A caller's id is echoed back; otherwise one is made up for the log only (a random
        # response header would make refusals distinguishable from each other).
        echo = bool(REQUEST_ID.match(incoming))
        request_id = incoming if echo else uuid.uuid4().hex
        status, size = 0, 0

        async def send_logged(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
                if echo:
                    message.setdefault("headers", [])
                    message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            fields = {"method": scope["method"], "path": scope["path"], "status": status, "bytes": size,
                      "duration_ms": round((time.perf_counter() - started) * 1000, 2), "request_id": request_id}
            refusal = scope.get("state", {}).get("refusal")
            if refusal:
                fields["reason"] = refusal
            log_event(log, "request", **fields)
