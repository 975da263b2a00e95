"""Canonical forms of identifier values, so that the same real identifier always matches itself.

Phones go to E.164 with libphonenumber (the `phonenumbers` port): national formats are read
in the brand's default region, which comes from the brand's time zone.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pytz

FALLBACK_REGION = "US"


@lru_cache(maxsize=None)
def region_of_timezone(timezone: str | None) -> str:
    """ISO country of an IANA zone (Europe/Amsterdam -> NL); the fallback when unknown."""
    for country, zones in pytz.country_timezones.items():
        if timezone in zones:
            return country
    return FALLBACK_REGION


@lru_cache(maxsize=1_000_000)
def to_e164(raw: str | None, default_region: str = FALLBACK_REGION) -> str | None:
    """+14155550123 for '(415) 555-0123' in US; None when the value is not a valid number."""
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_timezone(raw: str | None, timezone: str | None) -> str | None:
    return to_e164(raw, region_of_timezone(timezone))


def phones_for_timezones(raws: list[str | None], timezones: list[str | None]) -> list[str | None]:
    """phone_for_timezone of each pair: a batch, as a worker process receives it."""
    return [phone_for_timezone(raw, timezone) for raw, timezone in zip(raws, timezones)]
