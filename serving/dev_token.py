"""`python -m serving token`: sign a member token with the service's own keys, for development and support.

The app backend signs tokens in production (docs/card-api.md); this signs the same token from
SYNERGY_CARD_TOKEN_KEYS so a developer can call the service by hand, and prints a curl command that does.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass

from ingestion.paths import DataPaths
from publishing.card_store import CardStoreReader, StoreUnreadable
from serving.settings import listen_address, token_keys_from_env
from serving.tokens import sign

MAX_TTL_SECONDS = 24 * 3600  # the longest lifetime the service accepts (Settings.token_max_lifetime)
WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


@dataclass(frozen=True)
class DevToken:
    token: str
    kid: str
    url: str
    curl: str
    note: str | None  # why the service would answer 404 although the token is good


def service_url(env: Mapping[str, str]) -> str:
    """The base URL of a service started with the same environment (a wildcard host is reached on loopback)."""
    host, port = listen_address(env)
    host = WILDCARD_HOSTS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def dev_token(env: Mapping[str, str], brand_id: int, user_id: int, ttl: int = 3600, kid: str | None = None,
              base_url: str | None = None) -> DevToken:
    if not 0 < ttl <= MAX_TTL_SECONDS:
        raise ValueError(f"--ttl must be between 1 and {MAX_TTL_SECONDS} seconds (the service refuses longer tokens)")
    keys = token_keys_from_env(env)
    if kid is not None and kid not in keys:
        raise ValueError(f"key {kid!r} is not in SYNERGY_CARD_TOKEN_KEYS (there: {', '.join(keys)})")
    kid = kid or next(iter(keys))
    token = sign(keys, brand_id, user_id, int(time.time()) + ttl, kid=kid)
    url = f"{(base_url or service_url(env)).rstrip('/')}/v1/brands/{brand_id}/members/{user_id}/cards"
    curl = shlex.join(["curl", "-sS", "-H", f"Authorization: Bearer {token}", url])
    return DevToken(token, kid, url, curl, _missing_document(env, brand_id, user_id))


def _missing_document(env: Mapping[str, str], brand_id: int, user_id: int) -> str | None:
    cards = DataPaths.from_env(env).cards
    reader = CardStoreReader(cards)
    try:
        if reader.current_version() is None:
            return f"no card snapshot is published in {cards} yet (scripts/run publishes one): the service answers 404"
        if reader.get(brand_id, user_id) is None:
            return f"brand {brand_id} member {user_id} has no published card document: the service answers 404"
    except StoreUnreadable as error:
        return f"the card store in {cards} cannot be read ({error}): the service answers 503"
    finally:
        reader.close()
    return None
