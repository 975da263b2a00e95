"""The card and webhook HTTP service.

Run: ``python -m serving`` or
``uvicorn serving.app:app_factory --factory --host 127.0.0.1 --port 8080 --workers 2 --no-access-log
--no-server-header``
(the app writes its own JSON access log). Settings come from the environment: see
serving/settings.py and docs/card-api.md.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from publishing.card_store import CardStoreReader
from serving.access_log import AccessLogMiddleware
from serving.cards import get_cards
from serving.cors import PwaCORSMiddleware
from serving.health import card_version, healthz, readyz
from serving.logs import configure_logging, log_event
from serving.security_headers import SecurityHeadersMiddleware
from serving.settings import Settings
from serving.webhook_sink import WebhookSink
from serving.webhooks import FOLDER, receive_webhook

log = logging.getLogger("serving.app")


def create_app(settings: Settings) -> SecurityHeadersMiddleware:
    @asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.card_reader = CardStoreReader(settings.cards_root)
        sink = None
        if settings.webhook_signing_keys:
            sink = WebhookSink(settings.landing_root / FOLDER, settings.webhook_rotate_seconds,
                               settings.webhook_rotate_bytes)
            await sink.start()
        else:
            log_event(log, "webhook_receiver_disabled", logging.WARNING,
                      reason="CUSTOMERIO_WEBHOOK_SIGNING_KEY is not set")
        app.state.webhook_sink = sink
        if not settings.pwa_origins:
            log_event(log, "no_pwa_origins", logging.WARNING, reason="SYNERGY_PWA_ORIGINS is empty: browsers get no CORS")
        version, unreadable = card_version(app.state.card_reader)
        if unreadable:
            log_event(log, "card_store_unreadable", logging.ERROR, error=unreadable)
        log_event(log, "started", card_version=version,
                  recovered_segments=[p.name for p in sink.recovered] if sink else [])
        try:
            yield
        finally:
            if sink is not None:
                await sink.close()
            app.state.card_reader.close()

    routes = [
        Route("/v1/brands/{brand_id}/members/{user_id}/cards", get_cards, methods=["GET"]),
        Route("/webhooks/customer-io", receive_webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    middleware = [
        Middleware(AccessLogMiddleware),
        Middleware(PwaCORSMiddleware, allow_origins=list(settings.pwa_origins), allow_methods=["GET"],
                   allow_headers=["Authorization", "If-None-Match"], expose_headers=["ETag", "X-Snapshot-Version"],
                   max_age=600),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    # Outside Starlette's own error handling, so a 500 it makes of an unhandled error carries them too.
    return SecurityHeadersMiddleware(app)


def app_factory() -> SecurityHeadersMiddleware:
    """Entry point for uvicorn --factory: settings from the environment (refuses to start without token keys)."""
    configure_logging()
    return create_app(Settings.from_env())
