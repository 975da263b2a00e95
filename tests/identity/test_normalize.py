"""Identifier normalization with libphonenumber, directly and as the SQL function dbt uses."""

from __future__ import annotations

import duckdb
import pytest

from identity.dbt_plugin import register_functions
from identity.normalize import phone_for_timezone, region_of_timezone, to_e164


@pytest.mark.parametrize(("raw", "timezone", "expected"), [
    ("(415) 555-0123", "America/Los_Angeles", "+14155550123"),
    ("415.555.0123", "America/Denver", "+14155550123"),
    ("+1 415 555 0123", "Europe/Amsterdam", "+14155550123"),  # international form ignores the region
    ("06-12345678", "Europe/Amsterdam", "+31612345678"),
    ("06-12345678", "America/New_York", None),  # a Dutch national number is not a US number
    ("0000000000", "America/New_York", None),
    ("1234567890", "America/New_York", None),
    ("+10000000000", None, None),
    ("null", None, None),
    ("   ", None, None),
    (None, None, None),
])
def test_phones_become_e164_or_nothing(raw, timezone, expected):
    assert phone_for_timezone(raw, timezone) == expected


def test_region_comes_from_the_brand_time_zone():
    assert region_of_timezone("Europe/Amsterdam") == "NL"
    assert region_of_timezone("America/Denver") == "US"
    assert region_of_timezone("UTC") == "US"  # no country: the fallback
    assert to_e164("020 123 4567", "NL") == "+31201234567"


def test_sql_function_matches_the_python_function():
    con = duckdb.connect()
    register_functions(con)
    rows = con.execute("""
        select raw, tz, phone_e164(raw, tz) from (values
            ('(415) 555-0123', 'America/Denver'), ('06-12345678', 'Europe/Amsterdam'), ('junk', null), (null, 'UTC')
        ) as t(raw, tz)""").fetchall()
    assert [r[2] for r in rows] == [phone_for_timezone(r[0], r[1]) for r in rows]
    assert [r[2] for r in rows] == ["+14155550123", "+31612345678", None, None]
