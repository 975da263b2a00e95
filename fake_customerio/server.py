"""The aiohttp application: Track API v1 + v2, App API exports, signed downloads, and /_fake/ control."""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
import time
from collections import Counter
from dataclasses import dataclass

import orjson
from aiohttp import web

from fake_customerio.control import add_control_routes
from fake_customerio.exports import Exports
from fake_customerio.faults import STATUS_KINDS, Faults
from fake_customerio.limits import SlidingWindow
from fake_customerio.state import WorkspaceState
from fake_customerio.validation import (
    MAX_BATCH_BYTES,
    MAX_ITEM_BYTES,
    ItemError,
    Operation,
    event_fields,
    parse_v2_item,
)

APP_API_RPS = 10  # Customer.io's App API limit (most endpoints)
DOWNLOAD_PREFIX = "/signed-downloads/"  # stands in for the storage host of the real signed URLs


@dataclass(frozen=True)
class Workspace:
    site_id: str
    api_key: str
    app_api_key: str | None = None


DEFAULT_WORKSPACES = (Workspace("site-1", "track-key-1", "app-key-1"), Workspace("site-2", "track-key-2", "app-key-2"))


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"meta": {"error": message}}, status)


def _refusal(exception: type[web.HTTPException], message: str) -> web.HTTPException:
    return exception(text=orjson.dumps({"meta": {"error": message}}).decode(), content_type="application/json")


def _reset_connection(request: web.Request) -> None:
    """Close with a TCP RST (SO_LINGER 0) so the client sees 'connection reset', not a clean close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class FakeServer:
    """All workspaces' state plus faults and exports; `app()` serves it."""

    def __init__(self, workspaces: tuple[Workspace, ...] = DEFAULT_WORKSPACES) -> None:
        self.workspaces = workspaces
        self.faults = Faults()
        self.exports = Exports()  # export settings survive reset(); jobs are cheap to keep
        self._basic = {"Basic " + base64.b64encode(f"{w.site_id}:{w.api_key}".encode()).decode(): w.site_id
                       for w in self.workspaces}
        self._bearer = {f"Bearer {w.app_api_key}": w.site_id for w in self.workspaces if w.app_api_key}
        self.reset()

    def reset(self) -> None:
        self.states = {w.site_id: WorkspaceState() for w in self.workspaces}
        self.faults.clear()
        self.requests: Counter[tuple[str, str]] = Counter()  # (route, status) -> count
        self.dead_items: list[dict] = []
        self.app_api_times: list[float] = []  # arrival time of every App API request
        self._app_limits = {key: SlidingWindow(APP_API_RPS) for key in self._bearer}

    # ---- the application -------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024, middlewares=[self._middleware])
        r = app.router
        r.add_post("/api/v2/batch", self.v2_batch)
        r.add_put("/api/v1/customers/{id}", self.v1_identify)
        r.add_post("/api/v1/customers/{id}/events", self.v1_event)
        r.add_delete("/api/v1/customers/{id}", self.v1_delete)
        r.add_post("/api/v1/customers/{id}/suppress", self.v1_suppress)
        r.add_post("/api/v1/customers/{id}/unsuppress", self.v1_unsuppress)
        r.add_post("/v1/exports/customers", self.export_create)
        r.add_get("/v1/exports/{export_id}", self.export_get)
        r.add_get("/v1/exports/{export_id}/download", self.export_download)
        r.add_get(DOWNLOAD_PREFIX + "{token}", self.signed_download)
        add_control_routes(r, self)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_fake/"):
            return await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        try:
            response = await self._with_fault(request, handler, route)
        except web.HTTPException as exc:
            self.requests[route, str(exc.status)] += 1
            raise
        self.requests[route, str(response.status)] += 1
        return response

    async def _with_fault(self, request: web.Request, handler, route: str) -> web.StreamResponse:
        # The common case (no fault configured) costs one attribute check.
        fault = self.faults.take(request.path, time.monotonic()) if self.faults.active else None
        if fault is None:
            return await handler(request)
        if fault.kind in STATUS_KINDS:
            return _error(STATUS_KINDS[fault.kind], f"injected {fault.kind}")
        if fault.kind == "delay":
            await request.read()  # take the body first: the impatient client is gone after the delay
            await asyncio.sleep(fault.seconds)
            return await handler(request)
        if fault.kind == "reset_before":
            self.requests[route, "reset_before"] += 1
            _reset_connection(request)
            raise asyncio.CancelledError  # nothing more to send on a dead connection
        return await self._reset_after(request, handler, route)

    async def _reset_after(self, request: web.Request, handler, route: str) -> web.StreamResponse:
        """Apply the request, start a response, then reset the connection half way through the body."""
        response = await handler(request)
        self.requests[route, "reset_after"] += 1
        body = response.body if isinstance(response, web.Response) and response.body else b"{}"
        partial = web.StreamResponse(status=response.status, headers={"Content-Type": "application/json"})
        partial.content_length = len(body) + 64
        await partial.prepare(request)
        await partial.write(body[: max(1, len(body) // 2)])
        await asyncio.sleep(0.01)  # let the headers leave before the reset
        _reset_connection(request)
        raise asyncio.CancelledError

    # ---- Track API -------------------------------------------------------------------------------
    def _track_state(self, request: web.Request) -> tuple[str, WorkspaceState]:
        site_id = self._basic.get(request.headers.get("Authorization", ""))
        if site_id is None:
            raise _refusal(web.HTTPUnauthorized, "Unauthorized request")
        return site_id, self.states[site_id]

    async def v2_batch(self, request: web.Request) -> web.Response:
        site_id, state = self._track_state(request)
        body = await request.read()
        # The docs say "must be smaller than 500kb" and name no 413 here; an invalid Track API request
        # is a 400, so an oversized body is one too (a client must treat both as "do not retry as is").
        if len(body) >= MAX_BATCH_BYTES:
            return _error(400, f"request body must be smaller than {MAX_BATCH_BYTES} bytes")
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "malformed JSON")
        items = document.get("batch") if isinstance(document, dict) else None
        if not isinstance(items, list):
            return _error(400, "batch is required and must be an array")
        check_size = len(body) > MAX_ITEM_BYTES  # a smaller body cannot hold an oversized item
        errors = []
        for index, item in enumerate(items):
            result = parse_v2_item(item, check_size)
            if isinstance(result, ItemError):
                errors.append({"batch_index": index, "reason": result.reason, "field": result.field,
                               "message": result.message})
                self.dead_items.append({"site_id": site_id, "batch_index": index, "reason": result.reason,
                                        "field": result.field, "message": result.message, "item": item})
            else:
                state.apply(result)
        if errors:
            return _json({"errors": errors}, 207)
        return _json({})

    async def _v1_body(self, request: web.Request) -> dict:
        body = await request.read()
        if not body:
            return {}
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _refusal(web.HTTPBadRequest, "malformed JSON") from None
        if not isinstance(document, dict):
            raise _refusal(web.HTTPBadRequest, "body must be an object")
        return document

    async def _v1_apply(self, request: web.Request, action: str, **fields) -> web.Response:
        _, state = self._track_state(request)
        customer_id = request.match_info["id"]
        state.apply(Operation(action, f"id:{customer_id}", {"id": customer_id}, **fields))
        return _json({})

    async def v1_identify(self, request: web.Request) -> web.Response:
        self._track_state(request)
        return await self._v1_apply(request, "identify", attributes=await self._v1_body(request))

    async def v1_event(self, request: web.Request) -> web.Response:
        self._track_state(request)
        body = await self._v1_body(request)
        error = event_fields(body.get("name"), body.get("id"), body.get("timestamp"), named=True)
        if error:
            return _error(400, error.message)
        data = body.get("data") or {}
        return await self._v1_apply(request, "event", attributes=data, name=body["name"], event_id=body.get("id"),
                                    timestamp=body.get("timestamp"))

    async def v1_delete(self, request: web.Request) -> web.Response:
        return await self._v1_apply(request, "delete", attributes={})

    async def v1_suppress(self, request: web.Request) -> web.Response:
        return await self._v1_apply(request, "suppress", attributes={})

    async def v1_unsuppress(self, request: web.Request) -> web.Response:
        return await self._v1_apply(request, "unsuppress", attributes={})

    # ---- App API (exports) -----------------------------------------------------------------------
    def _app_site(self, request: web.Request) -> str:
        now = time.monotonic()
        self.app_api_times.append(now)
        key = request.headers.get("Authorization", "")
        site_id = self._bearer.get(key)
        if site_id is None:
            raise _refusal(web.HTTPUnauthorized, "Unauthorized request")
        if not self._app_limits[key].allow(now):
            raise _refusal(web.HTTPTooManyRequests, "rate limit exceeded")
        return site_id

    async def export_create(self, request: web.Request) -> web.Response:
        site_id = self._app_site(request)
        try:
            document = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _error(400, "malformed JSON")
        filters = document.get("filters") if isinstance(document, dict) else None
        if not isinstance(filters, dict) or len(filters) != 1:
            return _error(400, "filters is required: an object with one property (and, or, not, segment, attribute)")
        attributes = document.get("attributes")
        names_ok = isinstance(attributes, list) and all(isinstance(a, str) for a in attributes)
        if attributes is not None and not names_ok:
            return _error(400, "attributes must be an array of attribute names")
        job = self.exports.create(site_id, self.states[site_id], filters, attributes)
        return _json({"export": job.describe()})

    def _export_job(self, request: web.Request, site_id: str, *, poll: bool):
        try:
            export_id = int(request.match_info["export_id"])
        except ValueError:
            export_id = 0
        job = self.exports.find(site_id, export_id, poll=poll)
        if job is None:
            raise _refusal(web.HTTPNotFound, "export not found")
        return job

    async def export_get(self, request: web.Request) -> web.Response:
        site_id = self._app_site(request)
        return _json({"export": self._export_job(request, site_id, poll=True).describe()})

    async def export_download(self, request: web.Request) -> web.Response:
        site_id = self._app_site(request)
        job = self._export_job(request, site_id, poll=False)
        if job.status != "done":
            return _error(400, f"export is {job.status}")
        token = self.exports.download_token(job)
        return _json({"url": f"{request.scheme}://{request.host}{DOWNLOAD_PREFIX}{token}"})

    async def signed_download(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers:
            # Signed storage URLs refuse a second authentication mechanism.
            return _error(400, "only one auth mechanism allowed; the URL is already signed")
        content = self.exports.content(request.match_info["token"])
        if content is None:
            return web.Response(status=403, text="Request has expired")
        return web.Response(body=content, content_type="application/gzip")
