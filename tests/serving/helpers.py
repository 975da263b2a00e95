"""Helpers for the serving tests: real servers on loopback, signed requests, stored documents."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import orjson
import uvicorn

from ingestion.paths import PROJECT_ROOT
from publishing.sample_documents import member_document
from serving.app import create_app
from serving.settings import Settings
from serving.tokens import parse_keys, sign
from serving.webhooks import signature



def secret(name: str) -> str:
    """A fixed secret per name that looks random (64 hex digits), so the service accepts it as a key."""
    return hashlib.sha256(f"synergy test secret {name}".encode()).hexdigest()


TOKEN_KEYS_TEXT = f"k2026a:{secret('k2026a')},k2025z:{secret('k2025z')}"
WEBHOOK_KEY = secret("webhook").encode()
ORIGIN = "https://pwa.example.com"
DEADLINE_SECONDS = 30


def settings_for(data_dir: Path, **overrides) -> Settings:
    settings = Settings(card_token_keys=parse_keys(TOKEN_KEYS_TEXT), cards_root=data_dir / "cards",
                        landing_root=data_dir / "landing", pwa_origins=(ORIGIN,),
                        webhook_signing_keys=(WEBHOOK_KEY,))
    return replace(settings, **overrides)


@functools.cache
def parsed_keys(keys_text: str) -> dict[str, bytes]:
    return parse_keys(keys_text)  # once per text: judging a key's strength takes tens of milliseconds


def token(brand_id: int, user_id: int, expires_in: int = 3600, kid: str | None = None,
          keys_text: str = TOKEN_KEYS_TEXT) -> str:
    return sign(parsed_keys(keys_text), brand_id, user_id, int(time.time()) + expires_in, kid=kid)


def wait_until(condition, what: str, timeout: float = DEADLINE_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    return sock


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    """The app under uvicorn in a thread on a free loopback port; yields its base URL."""
    with serving(create_app(settings)) as url:
        yield url


@contextmanager
def serving(app) -> Iterator[str]:
    """This ASGI app under uvicorn in a thread on a free loopback port; yields its base URL."""
    sock = _listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), "the server to start")
        assert server.started, "server failed to start"
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(DEADLINE_SECONDS)
        sock.close()


class ServerProcess:
    """`python -m serving`, as operators start it, in a child process (settings from env)."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> ServerProcess:
        sock = _listening_socket()
        try:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "serving", "--workers", "1", "--fd", str(sock.fileno())],
                    cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=log, pass_fds=[sock.fileno()])
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            sock.close()  # the child holds its own copy
        wait_until(self._healthy, "the server process to answer /healthz")
        return self

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"server exited: {self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(DEADLINE_SECONDS)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(DEADLINE_SECONDS)


def webhook_request(body: bytes, key: bytes = WEBHOOK_KEY, timestamp: int | None = None) -> dict:
    """Keyword arguments for httpx: a body with Customer.io's signature headers."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {"content": body, "headers": {"X-CIO-Timestamp": ts, "X-CIO-Signature": signature(key, ts, body),
                                         "Content-Type": "application/json"}}


def reporting_body(event_id: str, metric: str = "delivered") -> bytes:
    return json.dumps({"event_id": event_id, "metric": metric, "timestamp": 1763640000, "object_type": "email",
                       "data": {"identifiers": {"id": "5"}, "delivery_id": "d1"}}).encode()


def prediction_body(user_id: str) -> bytes:
    return json.dumps({"user_id": user_id, "predictions": {"churn_probability": 0.25,
                                                           "product_affinity_scores": {"vapes": 0.8}}}).encode()


def landed_lines(landing: Path, complete_only: bool = True) -> list[dict]:
    pattern = "customerio/webhooks/dt=*/*.ndjson" + ("" if complete_only else "*")
    lines = []
    for path in sorted(landing.glob(pattern)):
        lines += [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return lines


def versioned_document(brand_id: int, user_id: int, version: int) -> dict:
    """A valid card document whose every card names the publish it belongs to."""
    document = member_document(brand_id, user_id, revision=version)
    for card in document["cards"]:
        card["explanation"]["details"]["published_version"] = version
    return document


def document_bytes(document: dict) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
