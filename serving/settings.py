"""Server settings, read once from the environment (secrets live only there)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingestion.paths import DataPaths
from serving.key_strength import require_strong
from serving.tokens import parse_keys

TOKEN_KEYS_ENV = "SYNERGY_CARD_TOKEN_KEYS"
PWA_ORIGINS_ENV = "SYNERGY_PWA_ORIGINS"
CACHE_MAX_AGE_ENV = "SYNERGY_CARD_CACHE_MAX_AGE"
WEBHOOK_KEY_ENV = "CUSTOMERIO_WEBHOOK_SIGNING_KEY"
WEBHOOK_PREVIOUS_KEY_ENV = "CUSTOMERIO_WEBHOOK_SIGNING_KEY_PREVIOUS"
REPLAY_WINDOW_ENV = "SYNERGY_WEBHOOK_REPLAY_WINDOW_SECONDS"
MAX_BODY_ENV = "SYNERGY_WEBHOOK_MAX_BODY_BYTES"
WEBHOOK_BODY_MAX_BYTES = 1 << 20  # the landing schema's maxLength for a webhook body
ROTATE_SECONDS_ENV = "SYNERGY_WEBHOOK_ROTATE_SECONDS"
ROTATE_BYTES_ENV = "SYNERGY_WEBHOOK_ROTATE_BYTES"
STORE_READS_ENV = "SYNERGY_CARD_STORE_READS"  # "inline" (default) or "threadpool"
HOST_ENV = "SYNERGY_SERVICE_HOST"  # where `python -m serving` listens; loopback unless told otherwise
PORT_ENV = "SYNERGY_SERVICE_PORT"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
NO_TOKEN_KEYS = f"no card token keys: set {TOKEN_KEYS_ENV} (kid:secret, a secret from: openssl rand -hex 32)"


@dataclass(frozen=True)
class Settings:
    card_token_keys: Mapping[str, bytes]  # kid -> secret; verification accepts any of them
    cards_root: Path  # DataPaths.cards: the snapshot store
    landing_root: Path  # DataPaths.landing: where webhook lines land
    pwa_origins: tuple[str, ...] = ()
    cache_max_age: int = 60
    webhook_signing_keys: tuple[bytes, ...] = ()  # current first, then the previous one during rotation
    webhook_replay_window: int = 300
    webhook_max_body: int = 1 << 20
    webhook_rotate_seconds: float = 60.0
    webhook_rotate_bytes: int = 64 << 20
    token_max_lifetime: int = 24 * 3600
    token_clock_skew: int = 60
    # Measured by benchmarks/serving.py: see serving/cards.py for the choice.
    store_reads_in_threadpool: bool = False

    def __post_init__(self) -> None:
        if not self.card_token_keys:
            raise ValueError(NO_TOKEN_KEYS)
        if self.webhook_max_body > WEBHOOK_BODY_MAX_BYTES:
            # What is acknowledged must load: the landing contract caps a body at this size.
            raise ValueError(f"{MAX_BODY_ENV}={self.webhook_max_body} is over {WEBHOOK_BODY_MAX_BYTES}, the largest "
                             "body the loader accepts (docs/schemas/landing/customerio_webhook.schema.json)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        paths = DataPaths.from_env(env)
        webhook_keys = []
        for name in (WEBHOOK_KEY_ENV, WEBHOOK_PREVIOUS_KEY_ENV):
            if env.get(name):
                require_strong(name, env[name].encode())
                webhook_keys.append(env[name].encode())
        return cls(
            card_token_keys=token_keys_from_env(env),
            cards_root=paths.cards,
            landing_root=paths.landing,
            pwa_origins=tuple(o.strip().rstrip("/") for o in env.get(PWA_ORIGINS_ENV, "").split(",") if o.strip()),
            cache_max_age=int(env.get(CACHE_MAX_AGE_ENV, "60")),
            webhook_signing_keys=tuple(webhook_keys),
            webhook_replay_window=int(env.get(REPLAY_WINDOW_ENV, "300")),
            webhook_max_body=int(env.get(MAX_BODY_ENV, str(1 << 20))),
            webhook_rotate_seconds=float(env.get(ROTATE_SECONDS_ENV, "60")),
            webhook_rotate_bytes=int(env.get(ROTATE_BYTES_ENV, str(64 << 20))),
            store_reads_in_threadpool=env.get(STORE_READS_ENV, "inline") == "threadpool",
        )


def token_keys_from_env(env: Mapping[str, str]) -> dict[str, bytes]:
    """The member token keys; none, a malformed entry or a weak secret is refused, naming the variable."""
    try:
        keys = parse_keys(env.get(TOKEN_KEYS_ENV, ""))
    except ValueError as error:
        raise ValueError(f"{TOKEN_KEYS_ENV}: {error}") from None
    if not keys:
        raise ValueError(NO_TOKEN_KEYS)
    return keys


def listen_address(env: Mapping[str, str] | None = None) -> tuple[str, int]:
    """(host, port) the service listens on by default: loopback, so exposing it is a decision."""
    env = os.environ if env is None else env
    return env.get(HOST_ENV) or DEFAULT_HOST, int(env.get(PORT_ENV) or DEFAULT_PORT)
