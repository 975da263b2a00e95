"""python -m serving [--host 0.0.0.0] [--port 8080] [--workers 2]"""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(description="Card API and Customer.io webhook receiver")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=2, help="one per core is the right default")
    args = parser.parse_args()
    uvicorn.run("serving.app:app_factory", factory=True, host=args.host, port=args.port, workers=args.workers,
                access_log=False,  # the app logs each request itself, as JSON
                timeout_graceful_shutdown=10)


if __name__ == "__main__":
    main()
