"""Member access tokens: signing, verification, rotation, refusal reasons."""

from __future__ import annotations

import pytest

from serving.tokens import TokenError, parse_keys, sign, verify
from tests.serving.helpers import secret

KEYS = parse_keys(f"new:{secret('new')},old:{secret('old')}")
NOW = 1_800_000_000


def refusal(token: str, brand_id: int = 1, user_id: int = 5, keys=KEYS, now: float = NOW) -> str | None:
    try:
        verify(token, brand_id, user_id, keys, now=now)
    except TokenError as error:
        return str(error)
    return None


def test_the_documented_example_token():
    # docs/card-api.md: the Python and PHP examples produce exactly this.
    assert sign({"k2026a": b"s" * 40}, 3, 12345, 1_800_000_000) == (
        "v1.k2026a.1800000000.97s4z9s0LxE88AlsfuZiyIubmlRBQZfMi31J8xlZ-Fw")


def test_a_token_opens_exactly_its_own_brand_and_member():
    token = sign(KEYS, 1, 5, NOW + 600)
    assert token.startswith("v1.new.")
    assert refusal(token) is None
    assert refusal(token, user_id=6) == "bad_signature"
    assert refusal(token, brand_id=2) == "bad_signature"


def test_expiry_allows_a_small_clock_skew_and_caps_the_lifetime():
    assert refusal(sign(KEYS, 1, 5, NOW - 30)) is None  # within the 60 s skew
    assert refusal(sign(KEYS, 1, 5, NOW - 61)) == "expired"
    assert refusal(sign(KEYS, 1, 5, NOW + 24 * 3600)) is None
    assert refusal(sign(KEYS, 1, 5, NOW + 24 * 3600 + 61)) == "lifetime_too_long"


def test_tampering_and_malformed_tokens_are_refused():
    token = sign(KEYS, 1, 5, NOW + 600)
    prefix, kid, expires, sig = token.split(".")
    assert refusal(f"{prefix}.{kid}.{int(expires) + 1}.{sig}") == "bad_signature"
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    assert refusal(f"{prefix}.{kid}.{expires}.{flipped}") == "bad_signature"
    assert refusal(f"{prefix}.old.{expires}.{sig}") == "bad_signature"  # another key's name
    for bad in ["", "v1", "v2.new.1.x", f"{token}.", token.replace("v1.", "v1..", 1), f"{token}=", "é" * 60]:
        assert refusal(bad) == "malformed", bad


def test_unknown_key_and_rotation():
    old_only = parse_keys(f"old:{secret('old')}")
    new_only = parse_keys(f"new:{secret('new')}")
    old_token = sign(old_only, 1, 5, NOW + 600)
    new_token = sign(KEYS, 1, 5, NOW + 600)
    assert refusal(old_token) is None and refusal(new_token) is None  # both keys configured
    assert refusal(old_token, keys=new_only) == "unknown_key"  # old key retired
    same_name_other_secret = parse_keys(f"old:{secret('another old')}")
    assert refusal(old_token, keys=same_name_other_secret) == "bad_signature"


@pytest.mark.parametrize("text, message", [
    ("", None),
    ("k1:" + secret("k1")[:31], "31 bytes long, shorter than 32"),
    ("k1:...", "is a placeholder"),
    ("k1:changeme", "is a placeholder"),
    ("k1:changeme-" + secret("k1"), "is a placeholder"),
    ("k1:" + "x" * 40, "guessable"),
    ("k1:" + "0123456789abcdef" * 4, "guessable"),
    ("k1:" + "correcthorsebatterystaple" * 2, "guessable"),
    ("k1" + secret("k1"), "malformed key entry"),
    ("bad kid:" + secret("k1"), "malformed key entry"),
    (f"k1:{secret('k1')},k1:{secret('k1 again')}", "listed twice"),
])
def test_key_configuration_is_checked(text, message):
    # Weak secrets are refused with the key's name and how to make a good one.
    if message is None:
        assert parse_keys(text) == {}
    else:
        with pytest.raises(ValueError, match=message):
            parse_keys(text)
