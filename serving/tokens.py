"""Member access tokens for the card API, signed by the app backend.

Format: ``v1.<kid>.<expires_unix>.<signature>`` where the signature is the unpadded
base64url HMAC-SHA256, under the key named ``kid``, of ``v1|<kid>|<brand_id>|<user_id>|<expires>``.
Brand and member are not in the token: the verifier takes them from the URL, so a token
for one member can never read another's cards. Several keys may be configured so that a
new key can sign while tokens under the old one are still accepted (rotation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from serving.key_strength import require_strong

VERSION = "v1"
KID = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
TOKEN = re.compile(r"^v1\.([A-Za-z0-9_-]{1,32})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})\Z")


class TokenError(ValueError):
    """Why a token was refused (for logs and tests; clients only ever see a 404)."""


def parse_keys(text: str) -> dict[str, bytes]:
    """``kid1:secret1,kid2:secret2`` -> {kid: secret}; the first key is the signing key.

    A placeholder, short or guessable secret is refused (serving/key_strength.py).
    """
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not KID.match(kid):
            raise ValueError(f"malformed key entry for kid {kid!r}: expected kid:secret, kid of [A-Za-z0-9_-]")
        require_strong(f"the secret of key {kid!r}", secret.encode())
        if kid in keys:
            raise ValueError(f"key {kid!r} is listed twice")
        keys[kid] = secret.encode()
    return keys


def _signature(secret: bytes, kid: str, brand_id: int, user_id: int, expires: int) -> str:
    message = f"{VERSION}|{kid}|{brand_id}|{user_id}|{expires}".encode()
    return base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def sign(keys: Mapping[str, bytes], brand_id: int, user_id: int, expires: int, kid: str | None = None) -> str:
    """A token for one member valid until the unix time ``expires`` (default key: the first)."""
    kid = kid or next(iter(keys))
    return f"{VERSION}.{kid}.{expires}.{_signature(keys[kid], kid, brand_id, user_id, expires)}"


def verify(
    token: str,
    brand_id: int,
    user_id: int,
    keys: Mapping[str, bytes],
    now: float | None = None,
    max_lifetime: int = 24 * 3600,
    clock_skew: int = 60,
) -> None:
    """Raise TokenError unless ``token`` is a live token for exactly this brand and member."""
    match = TOKEN.match(token)
    if not match:
        raise TokenError("malformed")
    kid, expires, given = match.group(1), int(match.group(2)), match.group(3)
    secret = keys.get(kid)
    if secret is None:
        raise TokenError("unknown_key")
    # Constant time: the signature is checked before anything that depends on its value.
    if not hmac.compare_digest(_signature(secret, kid, brand_id, user_id, expires).encode(), given.encode()):
        raise TokenError("bad_signature")
    now = time.time() if now is None else now
    if expires + clock_skew < now:
        raise TokenError("expired")
    if expires - now > max_lifetime + clock_skew:
        raise TokenError("lifetime_too_long")
