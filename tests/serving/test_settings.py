"""Settings come from the environment; the server refuses to start without token keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.paths import PROJECT_ROOT
from serving.settings import Settings

KEYS = "k1:" + "s" * 32


def test_settings_from_the_environment(tmp_path: Path):
    settings = Settings.from_env({
        "SYNERGY_DATA_DIR": str(tmp_path), "SYNERGY_CARD_TOKEN_KEYS": KEYS,
        "SYNERGY_PWA_ORIGINS": "https://a.example/, https://b.example", "SYNERGY_CARD_CACHE_MAX_AGE": "30",
        "CUSTOMERIO_WEBHOOK_SIGNING_KEY": "current", "CUSTOMERIO_WEBHOOK_SIGNING_KEY_PREVIOUS": "previous",
    })
    assert settings.card_token_keys == {"k1": b"s" * 32}
    assert settings.cards_root == tmp_path.resolve() / "cards"
    assert settings.landing_root == tmp_path.resolve() / "landing"
    assert settings.pwa_origins == ("https://a.example", "https://b.example")
    assert settings.cache_max_age == 30
    assert settings.webhook_signing_keys == (b"current", b"previous")
    assert (settings.webhook_replay_window, settings.webhook_max_body) == (300, 1 << 20)
    assert settings.store_reads_in_threadpool is False


def test_no_token_keys_no_settings(tmp_path: Path):
    with pytest.raises(ValueError, match="SYNERGY_CARD_TOKEN_KEYS"):
        Settings.from_env({"SYNERGY_DATA_DIR": str(tmp_path)})


def test_the_server_refuses_to_start_without_token_keys(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "serving", "--port", "0", "--workers", "1"], cwd=PROJECT_ROOT,
                            env={"SYNERGY_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "no card token keys" in result.stderr
