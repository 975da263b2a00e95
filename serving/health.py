"""GET /healthz (the process answers) and GET /readyz (it can do its job)."""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import JSONResponse

from publishing.card_store import CardStoreReader, StoreUnreadable

NO_STORE = {"Cache-Control": "no-store"}


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


def card_version(reader: CardStoreReader) -> tuple[int | None, str | None]:
    """The published version, or why the store cannot be read."""
    try:
        return reader.current_version(), None
    except StoreUnreadable as error:
        return None, str(error)


async def readyz(request: Request) -> JSONResponse:
    """Ready when a card version is published and readable, and webhooks can be landed. A store that
    cannot be read makes the service not ready; the webhook receiver keeps working either way."""
    version, unreadable = card_version(request.app.state.card_reader)
    sink = request.app.state.webhook_sink
    landing = request.app.state.settings.landing_root
    writable = sink.healthy if sink is not None else (landing.is_dir() and os.access(landing, os.W_OK))
    problems = []
    if unreadable:
        problems.append(f"card store unreadable: {unreadable}")
    elif version is None:
        problems.append("no card version published")
    if not writable:
        problems.append("landing zone not writable")
    body = {"ready": not problems, "card_version": version, "landing_writable": writable,
            "webhook_receiver": sink is not None, "problems": problems}
    return JSONResponse(body, status_code=200 if not problems else 503, headers=NO_STORE)
