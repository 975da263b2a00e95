"""Identifier normalization with libphonenumber, directly and as the SQL function dbt uses."""

from __future__ import annotations

import duckdb
import pytest

from identity import dbt_plugin
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


def test_a_large_parse_is_split_between_worker_processes(monkeypatch):
    """Past PARALLEL_AFTER numbers the function parses in worker processes, with the same results, row for row."""
    monkeypatch.setattr(dbt_plugin, "PARALLEL_AFTER", 1_000)
    monkeypatch.setattr(dbt_plugin, "WORKERS", 2)
    parser = dbt_plugin._PhoneParser()
    con = duckdb.connect()
    register_functions(con, parser)
    rows = con.execute("""
        select raw, tz, phone_e164(raw, tz) from (
            select case i % 4 when 0 then '(415) 555-' || lpad((i % 10000)::varchar, 4, '0')
                              when 1 then '06-' || (12345678 + i)::varchar
                              when 2 then 'junk ' || i::varchar
                              else null end as raw,
                   case i % 3 when 0 then 'America/Denver' when 1 then 'Europe/Amsterdam' else null end as tz
            from range(6000) as t(i))""").fetchall()
    assert parser._pool is not None  # the workers did parse
    assert [r[2] for r in rows] == [phone_for_timezone(r[0], r[1]) for r in rows]
    assert sum(r[2] is not None for r in rows) > 1000  # real numbers among them, not only nulls


def test_a_small_parse_starts_no_worker(monkeypatch):
    monkeypatch.setattr(dbt_plugin, "WORKERS", 2)
    parser = dbt_plugin._PhoneParser()
    con = duckdb.connect()
    register_functions(con, parser)
    [(valid,)] = con.execute("select count(phone_e164('(415) 555-' || lpad(i::varchar, 4, '0'), 'America/Denver'))"
                             " from range(500) as t(i)").fetchall()
    assert valid == 500 and parser._pool is None
