"""`python -m serving token`: a developer signs a member token with the service's keys and fetches cards with it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from ingestion.paths import PROJECT_ROOT
from publishing.card_store import CardStoreWriter
from tests.serving.helpers import TOKEN_KEYS_TEXT, WEBHOOK_KEY, ServerProcess, document_bytes, versioned_document


def token_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "serving", "token", *args], cwd=PROJECT_ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False)


def test_the_printed_curl_command_fetches_the_members_cards(tmp_path: Path):
    data = tmp_path / "data"
    document = document_bytes(versioned_document(1, 5, version=1))
    with CardStoreWriter(data / "cards") as writer:
        writer.publish([(1, 5, document)])
    env = {"SYNERGY_DATA_DIR": str(data), "SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS_TEXT,
           "CUSTOMERIO_WEBHOOK_SIGNING_KEY": WEBHOOK_KEY.decode()}
    server = ServerProcess(env, tmp_path / "server.log").start()
    try:
        # The same environment as the service, which tells the command where it listens.
        env["SYNERGY_SERVICE_PORT"] = server.url.rsplit(":", 1)[1]
        signed = token_command(env, "--brand", "1", "--user", "5")
        assert signed.returncode == 0, signed.stderr
        token = signed.stdout.strip()
        assert token.startswith("v1.k2026a.")  # signed with the first key
        curl_line = next(line for line in signed.stderr.splitlines() if line.startswith("curl "))
        assert f"{server.url}/v1/brands/1/members/5/cards" in curl_line and token in curl_line
        fetched = subprocess.run(shlex.split(curl_line), capture_output=True, timeout=60, check=True)
        assert fetched.stdout == document
        assert "note:" not in signed.stderr

        unknown = token_command(env, "--brand", "1", "--user", "6", "--kid", "k2025z")
        assert unknown.stdout.startswith("v1.k2025z.")
        assert "brand 1 member 6 has no published card document: the service answers 404" in unknown.stderr
        curl_line = next(line for line in unknown.stderr.splitlines() if line.startswith("curl "))
        fetched = subprocess.run([*shlex.split(curl_line), "-o", "/dev/null", "-w", "%{http_code}"],
                                 capture_output=True, text=True, timeout=60, check=True)
        assert fetched.stdout == "404"
    finally:
        server.stop()


def test_the_token_command_refuses_what_the_service_refuses(tmp_path: Path):
    env = {"SYNERGY_DATA_DIR": str(tmp_path)}
    weak = token_command({**env, "SYNERGY_CARD_TOKEN_KEYS": "k1:changeme"}, "--brand", "1", "--user", "5")
    assert weak.returncode == 2 and weak.stdout == ""
    assert "SYNERGY_CARD_TOKEN_KEYS: the secret of key 'k1' is a placeholder" in weak.stderr
    missing = token_command({**env, "SYNERGY_CARD_TOKEN_KEYS": ""}, "--brand", "1", "--user", "5")
    assert missing.returncode == 2 and "no card token keys" in missing.stderr
    too_long = token_command({**env, "SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS_TEXT}, "--brand", "1", "--user", "5",
                             "--ttl", str(2 * 86400))
    assert too_long.returncode == 2 and "--ttl must be between 1 and 86400" in too_long.stderr
    other_kid = token_command({**env, "SYNERGY_CARD_TOKEN_KEYS": TOKEN_KEYS_TEXT}, "--brand", "1", "--user", "5",
                              "--kid", "gone")
    assert other_kid.returncode == 2 and "key 'gone' is not in SYNERGY_CARD_TOKEN_KEYS" in other_kid.stderr
