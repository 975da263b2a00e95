"""python -m serving [serve] [--host 127.0.0.1] [--port 8080] [--workers 2] [--fd N]
python -m serving token --brand B --user U [--ttl 3600] [--kid KID] [--url URL]"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from serving.dev_token import MAX_TTL_SECONDS, dev_token
from serving.settings import DEFAULT_HOST, DEFAULT_PORT, HOST_ENV, PORT_ENV, Settings, listen_address

COMMANDS = ("serve", "token")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m serving", description="Card API and Customer.io webhook receiver",
                                  formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    commands = top.add_subparsers(dest="command", metavar="{serve,token}")
    host, port = listen_address()
    serve = commands.add_parser("serve", help="run the service (the default command)",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    serve.add_argument("--host", default=host, help=f"address to listen on (${HOST_ENV}, else {DEFAULT_HOST}); "
                                                    "0.0.0.0 listens on every interface")
    serve.add_argument("--port", type=int, default=port, help=f"port (${PORT_ENV}, else {DEFAULT_PORT})")
    serve.add_argument("--workers", type=int, default=2, help="one per core is the right default")
    serve.add_argument("--fd", type=int, default=None, help="listen on this inherited socket instead (socket activation)")
    token = commands.add_parser("token", help="sign a member token with SYNERGY_CARD_TOKEN_KEYS and print a curl "
                                              "command that fetches the member's cards",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    token.add_argument("--brand", type=int, required=True, help="brand id")
    token.add_argument("--user", type=int, required=True, help="member (user) id")
    token.add_argument("--ttl", type=int, default=3600, help=f"seconds the token lives (at most {MAX_TTL_SECONDS})")
    token.add_argument("--kid", default=None, help="key to sign with (default: the first in SYNERGY_CARD_TOKEN_KEYS)")
    token.add_argument("--url", default=None, help="the service's base URL (default: where `serve` listens, "
                                                   f"from ${HOST_ENV} and ${PORT_ENV})")
    return top


def serve(args: argparse.Namespace) -> int:
    # Check the configuration here, once, so a refusal is one clear line rather than a traceback per worker.
    try:
        Settings.from_env()
    except ValueError as error:
        print(f"python -m serving: {error}", file=sys.stderr)
        return 2
    uvicorn.run("serving.app:app_factory", factory=True, host=args.host, port=args.port, fd=args.fd, workers=args.workers,
                access_log=False,  # the app logs each request itself, as JSON
                server_header=False,  # announcing the server software helps nobody but an attacker
                timeout_graceful_shutdown=10)
    return 0


def token(args: argparse.Namespace) -> int:
    try:
        signed = dev_token(os.environ, args.brand, args.user, ttl=args.ttl, kid=args.kid, base_url=args.url)
    except ValueError as error:
        print(f"python -m serving token: {error}", file=sys.stderr)
        return 2
    # The token alone on stdout (TOKEN=$(python -m serving token ...)); the explanation on stderr.
    print(signed.token)
    print(f"# brand {args.brand}, member {args.user}, key {signed.kid}, valid {args.ttl} s. Fetch the member's cards:",
          file=sys.stderr)
    print(signed.curl, file=sys.stderr)
    if signed.note:
        print(f"# note: {signed.note}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv = ["serve", *argv]  # `python -m serving --port 8080` keeps meaning serve
    args = parser().parse_args(argv)
    return serve(args) if args.command == "serve" else token(args)


if __name__ == "__main__":
    sys.exit(main())
