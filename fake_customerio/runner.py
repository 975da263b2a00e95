"""Start the fake's aiohttp application on a loopback port (inside an already running event loop)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from fake_customerio.server import FakeServer
from fake_customerio.tls import server_context


async def start(server: FakeServer, host: str = "127.0.0.1", port: int = 0,
                tls_dir: Path | None = None) -> tuple[web.AppRunner, str]:
    """Returns the runner (call .cleanup() to stop) and the base URL actually bound."""
    # handler_cancellation stays off: a request whose client gave up (timeout, reset) is still
    # applied in full, as a real server would.
    runner = web.AppRunner(server.app(), access_log=None, handler_cancellation=False)
    await runner.setup()
    context = server_context(tls_dir) if tls_dir is not None else None
    site = web.TCPSite(runner, host, port, ssl_context=context, backlog=1024)
    await site.start()
    bound_port = runner.addresses[0][1]
    return runner, f"{'https' if context else 'http'}://{host}:{bound_port}"
