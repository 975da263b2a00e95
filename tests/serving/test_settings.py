"""Settings come from the environment; the server refuses to start without good keys, and listens on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from ingestion.paths import PROJECT_ROOT
from serving.settings import Settings
from tests.serving.helpers import TOKEN_KEYS_TEXT, WEBHOOK_KEY, secret, wait_until

KEYS = f"k1:{secret('k1')}"


def test_settings_from_the_environment(tmp_path: Path):
    settings = Settings.from_env({
        "SYNERGY_DATA_DIR": str(tmp_path), "SYNERGY_CARD_TOKEN_KEYS": KEYS,
        "SYNERGY_PWA_ORIGINS": "https://a.example/, https://b.example", "SYNERGY_CARD_CACHE_MAX_AGE": "30",
        "CUSTOMERIO_WEBHOOK_SIGNING_KEY": secret("current"), "CUSTOMERIO_WEBHOOK_SIGNING_KEY_PREVIOUS": secret("previous"),
    })
    assert settings.card_token_keys == {"k1": secret("k1").encode()}
    assert settings.cards_root == tmp_path.resolve() / "cards"
    assert settings.landing_root == tmp_path.resolve() / "landing"
    assert settings.pwa_origins == ("https://a.example", "https://b.example")
    assert settings.cache_max_age == 30
    assert settings.webhook_signing_keys == (secret("current").encode(), secret("previous").encode())
    assert (settings.webhook_replay_window, settings.webhook_max_body) == (300, 1 << 20)
    assert settings.store_reads_in_threadpool is False


def test_no_token_keys_no_settings(tmp_path: Path):
    with pytest.raises(ValueError, match="SYNERGY_CARD_TOKEN_KEYS"):
        Settings.from_env({"SYNERGY_DATA_DIR": str(tmp_path)})


@pytest.mark.parametrize("variable, value, reason", [
    ("SYNERGY_CARD_TOKEN_KEYS", "k1:...", "the secret of key 'k1' is a placeholder"),
    ("SYNERGY_CARD_TOKEN_KEYS", "k1:changeme", "the secret of key 'k1' is a placeholder"),
    ("SYNERGY_CARD_TOKEN_KEYS", "k1:0f3a9c", "the secret of key 'k1' is 6 bytes long, shorter than 32"),
    ("SYNERGY_CARD_TOKEN_KEYS", "k1:" + "s" * 40, "the secret of key 'k1' is guessable"),
    ("SYNERGY_CARD_TOKEN_KEYS", f"k1:{secret('k1')},k0:{'ab' * 20}", "the secret of key 'k0' is guessable"),
    ("CUSTOMERIO_WEBHOOK_SIGNING_KEY", "...", "CUSTOMERIO_WEBHOOK_SIGNING_KEY is a placeholder"),
    ("CUSTOMERIO_WEBHOOK_SIGNING_KEY", "changeme", "CUSTOMERIO_WEBHOOK_SIGNING_KEY is a placeholder"),
    ("CUSTOMERIO_WEBHOOK_SIGNING_KEY", "a1b2c3d4e5f6", "CUSTOMERIO_WEBHOOK_SIGNING_KEY is 12 bytes long"),
    ("CUSTOMERIO_WEBHOOK_SIGNING_KEY", "qwertyuiopasdfghjklzxcvbnm123456", "CUSTOMERIO_WEBHOOK_SIGNING_KEY is guessable"),
    ("CUSTOMERIO_WEBHOOK_SIGNING_KEY_PREVIOUS", "12345678901234567890123456789012",
     "CUSTOMERIO_WEBHOOK_SIGNING_KEY_PREVIOUS is guessable"),
])
def test_weak_and_placeholder_keys_are_refused(tmp_path: Path, variable: str, value: str, reason: str):
    env = {"SYNERGY_DATA_DIR": str(tmp_path), "SYNERGY_CARD_TOKEN_KEYS": KEYS,
           "CUSTOMERIO_WEBHOOK_SIGNING_KEY": secret("current"), variable: value}
    with pytest.raises(ValueError, match="openssl rand -hex 32") as refused:
        Settings.from_env(env)
    assert reason in str(refused.value)
    assert value not in str(refused.value) or value in ("...", "changeme")  # a real secret is never echoed


def run_server(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "serving", *args, "--port", "0", "--workers", "1"], cwd=PROJECT_ROOT,
                          env={"SYNERGY_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_server_refuses_to_start_without_token_keys(tmp_path: Path):
    result = run_server(tmp_path, {})
    assert result.returncode != 0
    assert "no card token keys" in result.stderr


def test_the_server_refuses_to_start_with_the_placeholder_webhook_key_in_one_clear_line(tmp_path: Path):
    result = run_server(tmp_path, {"SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS_TEXT, "CUSTOMERIO_WEBHOOK_SIGNING_KEY": "..."})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "python -m serving: CUSTOMERIO_WEBHOOK_SIGNING_KEY is a placeholder: generate one with: openssl rand -hex 32"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(args: list[str], env: dict[str, str], tmp_path: Path) -> set[str]:
    """Start `python -m serving` as operators do and read the addresses its socket listens on."""
    port = free_port()
    env = {**os.environ, "SYNERGY_DATA_DIR": str(tmp_path), "SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS_TEXT,
           "CUSTOMERIO_WEBHOOK_SIGNING_KEY": WEBHOOK_KEY.decode(), "SYNERGY_SERVICE_PORT": str(port), **env}
    with open(tmp_path / "server.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "serving", "--workers", "1", *args], cwd=PROJECT_ROOT, env=env,
                                stdout=log, stderr=log)
    try:
        def answers() -> bool:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, "the service to answer on loopback")
        return {c.laddr.ip for c in psutil.Process(proc.pid).net_connections("tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port}
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_service_listens_on_loopback_unless_told_otherwise(tmp_path: Path):
    assert listening_addresses([], {}, tmp_path) == {"127.0.0.1"}
    assert listening_addresses([], {"SYNERGY_SERVICE_HOST": "0.0.0.0"}, tmp_path) == {"0.0.0.0"}
    assert listening_addresses(["--host", "0.0.0.0"], {}, tmp_path) == {"0.0.0.0"}
