"""/_fake/ routes: inject faults, throttle, tune exports, seed people, reset, and inspect state.

Control is HTTP so a fake running in another process (benchmarks) is driven exactly like one in a
thread (tests). No authentication: the fake only ever listens on loopback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from aiohttp import web

from fake_customerio.faults import Fault

if TYPE_CHECKING:
    from fake_customerio.server import FakeServer

STATE_VIEWS = ("people", "events", "receipts", "delivered", "suppressed", "deleted", "actions")


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def _body(request: web.Request) -> object:
    raw = await request.read()
    return orjson.loads(raw) if raw else {}


def add_control_routes(router: web.UrlDispatcher, server: FakeServer) -> None:
    async def health(_: web.Request) -> web.Response:
        return _json({"ok": True})

    async def reset(_: web.Request) -> web.Response:
        server.reset()
        return _json({})

    async def add_fault(request: web.Request) -> web.Response:
        try:
            server.faults.add(Fault(**await _body(request)))
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(server.faults.describe())

    async def clear_faults(_: web.Request) -> web.Response:
        server.faults.clear()
        return _json(server.faults.describe())

    async def throttle(request: web.Request) -> web.Response:
        body = await _body(request)
        server.faults.throttle(body.get("rps"), body.get("path_prefix", "/api/"))
        return _json(server.faults.describe())

    async def export_settings(request: web.Request) -> web.Response:
        try:
            server.exports.settings.update(await _body(request))
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json(vars(server.exports.settings))

    def _state(request: web.Request):
        state = server.states.get(request.match_info["site_id"])
        if state is None:
            raise web.HTTPNotFound(text="unknown site_id")
        return state

    async def seed_people(request: web.Request) -> web.Response:
        state = _state(request)
        people = await _body(request)
        for person in people:
            state.seed_person(person)
        return _json({"people": len(state.people)})

    async def state_view(request: web.Request) -> web.Response:
        what = request.match_info["what"]
        if what not in STATE_VIEWS:
            return _json({"error": f"expected one of {STATE_VIEWS}"}, 404)
        return _json(getattr(_state(request), what))

    async def requests(_: web.Request) -> web.Response:
        return _json([{"route": route, "status": status, "count": n} for (route, status), n in server.requests.items()])

    async def dead_items(_: web.Request) -> web.Response:
        return _json(server.dead_items)

    async def app_api_times(_: web.Request) -> web.Response:
        return _json(server.app_api_times)

    router.add_get("/_fake/health", health)
    router.add_post("/_fake/reset", reset)
    router.add_post("/_fake/faults", add_fault)
    router.add_delete("/_fake/faults", clear_faults)
    router.add_post("/_fake/throttle", throttle)
    router.add_post("/_fake/exports/settings", export_settings)
    router.add_post("/_fake/people/{site_id}", seed_people)
    router.add_get("/_fake/state/{site_id}/{what}", state_view)
    router.add_get("/_fake/requests", requests)
    router.add_get("/_fake/dead_items", dead_items)
    router.add_get("/_fake/app_api_times", app_api_times)
