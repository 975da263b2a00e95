"""Refuse secrets nobody should sign with: placeholders, short keys and guessable ones.

A secret copied from a README (``...``), a default (``changeme``) or typed by hand (``aaaa…``,
``0123456789abcdef…``) lets anyone forge member tokens or webhooks, so the service will not start
with one. Guessability is zxcvbn's estimate (repeats, sequences, keyboard walks, dictionary words);
a random key such as ``openssl rand -hex 32`` is far above the bar.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_SECRET_BYTES = 32
# 10^24 guesses, about 80 bits: random 32-character keys score 10^28 and more, hand-made patterns far less.
MIN_GUESSES_LOG10 = 24
ZXCVBN_MAX_CHARS = 72  # zxcvbn refuses longer input; a key whose first 72 characters are strong is strong
PLACEHOLDER_MARKS = ("...", "changeme", "change-me", "change_me", "placeholder")
GENERATE_HINT = "generate one with: openssl rand -hex 32"


class WeakSecret(ValueError):
    """A configured secret that must not be used."""


def weakness(secret: bytes) -> str | None:
    """Why ``secret`` must not be used, or None when it is fit to sign with."""
    text = secret.decode("utf-8", errors="replace")
    if any(mark in text.lower() for mark in PLACEHOLDER_MARKS) or not text.strip():
        return "a placeholder"
    if len(secret) < MIN_SECRET_BYTES:
        return f"{len(secret)} bytes long, shorter than {MIN_SECRET_BYTES}"
    if zxcvbn(text[:ZXCVBN_MAX_CHARS])["guesses_log10"] < MIN_GUESSES_LOG10:
        return "guessable (a repeat, sequence or words rather than random bytes)"
    return None


def require_strong(what: str, secret: bytes) -> None:
    """Raise WeakSecret naming ``what`` (an environment variable, a key id) unless the secret is fit."""
    reason = weakness(secret)
    if reason is not None:
        raise WeakSecret(f"{what} is {reason}: {GENERATE_HINT}")
