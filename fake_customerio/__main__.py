"""python -m fake_customerio --port P [--tls-dir D] [--workspace SITE:KEY[:APP_KEY]] ...

Prints one line, "listening <base url>", once it accepts connections, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from fake_customerio.runner import start
from fake_customerio.server import DEFAULT_WORKSPACES, FakeServer, Workspace


def _workspace(text: str) -> Workspace:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError("expected SITE_ID:API_KEY[:APP_API_KEY]")
    return Workspace(*parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m fake_customerio", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls-dir", type=Path, help="serve HTTPS; CA (ca.pem) and certificate made here if absent")
    parser.add_argument("--workspace", type=_workspace, action="append",
                        help="SITE_ID:API_KEY[:APP_API_KEY], repeatable (default: two demo workspaces)")
    args = parser.parse_args(argv)
    server = FakeServer(tuple(args.workspace) if args.workspace else DEFAULT_WORKSPACES)

    async def serve() -> None:
        runner, url = await start(server, args.host, args.port, args.tls_dir)
        print(f"listening {url}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        import uvloop  # a faster loop when available (it ships with uvicorn[standard])

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    try:
        run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
