"""python -m serving [--host 0.0.0.0] [--port 8080] [--workers 2] [--fd N]"""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description="Card API and Customer.io webhook receiver")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=2, help="one per core is the right default")
    parser.add_argument("--fd", type=int, default=None, help="listen on this inherited socket instead (socket activation)")
    args = parser.parse_args()
    uvicorn.run("serving.app:app_factory", factory=True, host=args.host, port=args.port, fd=args.fd, workers=args.workers,
                access_log=False,  # the app logs each request itself, as JSON
                server_header=False,  # announcing the server software helps nobody but an attacker
                timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
