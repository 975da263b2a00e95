"""Adversarial inputs: each is quarantined or loaded correctly, and none stops the files after it."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from ingestion.landing_files import discover
from ingestion.sources import ACTION_LOGS, CUSTOMERIO_EXPORTS, REFERENCE
from tests.ingestion.helpers import event, load, query, quarantine_reasons, write_lines

DAY_DIR = "app/action_logs/dt=2026-11-19"


@pytest.fixture
def day(data_dir):
    return data_dir.landing / DAY_DIR


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"event_id":"x","brand_id":18446744073709551615,"action_type":"page_view","occurred_at":"2026-11-19T10:00:00Z"}', "out_of_range"),
        (json.dumps(event("x", user_id=2**63)), "out_of_range"),
        (json.dumps(event("x", amount=1e15)), "out_of_range"),
        ('{"event_id":"x","brand_id":1,"action_type":"purchase","occurred_at":"2026-11-19T10:00:00Z","amount":NaN}', "out_of_range"),
        (json.dumps(event("x", occurred_at="2026-11-19T10:00:00+24:00")), "unparseable_timestamp"),
        (json.dumps(event("x", occurred_at="2026-11-19T24:00:00Z")), "unparseable_timestamp"),
        ("\u00a0", "malformed_json"),
        ("\u2028", "malformed_json"),
    ],
)
def test_values_json_allows_but_columns_cannot_hold(data_dir, day, bad_line, reason):
    write_lines(day / "events.ndjson", [event("good-1"), bad_line, event("good-2")])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 3, 2)
    assert quarantine_reasons(data_dir.warehouse) == [(2, reason)]


def test_identifier_strings_that_look_like_other_json_values_load(data_dir, day):
    # Validation parses the identifiers again only when a colon in their text is followed by something other
    # than a string or null; strings holding such colons must still load.
    identifiers = {"device_id": "aa:5:true", "cookie_id": 'x":1', "email": None, "qr_id": "n:{[", "whatsapp": "nan:"}
    write_lines(day / "events.ndjson", [event("a", identifiers=identifiers)])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    assert query(data_dir.warehouse, "SELECT identifiers ->> 'cookie_id' FROM raw.app_action_logs") == [('x":1',)]


def test_integers_at_the_edges_of_64_bits(data_dir, day):
    lines = [event("max", user_id=2**63 - 1), event("min", points_awarded=-(2**63)), event("over", user_id=2**63),
             event("under", points_awarded=-(2**63) - 1), event("past-unsigned", user_id=2**64)]
    write_lines(day / "events.ndjson", lines)
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 3)
    assert query(data_dir.warehouse, "SELECT event_id, user_id, points_awarded FROM raw.app_action_logs ORDER BY 1") == [
        ("max", 2**63 - 1, 100), ("min", 5, -(2**63))]
    assert quarantine_reasons(data_dir.warehouse) == [(3, "out_of_range"), (4, "wrong_type"), (5, "wrong_type")]


@pytest.mark.parametrize(("value", "reason"), [
    ('"amount":nan', "out_of_range"), ('"points_awarded":nan', "wrong_type"), ('"user_id":-nan', "wrong_type"),
    ('"identifiers":{"phone":nan}', "wrong_type"), ('"identifiers":{"email":"a@b.c","phone":NaN}', "wrong_type"),
])
def test_not_a_number_is_never_read_as_null(data_dir, day, value, reason):
    # DuckDB reads nan as a number; it starts with n like null, which a value may be.
    line = '{"event_id":"x","brand_id":1,"action_type":"purchase","occurred_at":"2026-11-19T10:00:00Z",' + value + "}"
    write_lines(day / "events.ndjson", [event("good"), line])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert quarantine_reasons(data_dir.warehouse) == [(2, reason)]


def test_leading_whitespace_and_byte_order_mark_are_not_errors(data_dir, day):
    day.mkdir(parents=True)
    (day / "events.ndjson").write_bytes(b"\xef\xbb\xbf" + json.dumps(event("a")).encode() + b"\n\t" + json.dumps(event("b")).encode() + b"\n")
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)


def test_unreadable_parquet_is_rejected_and_later_files_still_load(data_dir, day):
    day.mkdir(parents=True)
    (day / "a-empty.parquet").write_bytes(b"")
    (day / "b-garbage.parquet").write_bytes(b"not a parquet file")
    write_lines(day / "c.ndjson", [event("c1")])
    results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert [r.status for r in results] == ["rejected", "rejected", "loaded"]
    assert [r[1] for r in quarantine_reasons(data_dir.warehouse)] == ["unreadable_parquet"] * 2


def test_parquet_name_with_glob_characters_reads_only_itself(data_dir, day):
    day.mkdir(parents=True)
    pl.DataFrame([event("one")]).write_parquet(day / "b-*.parquet")
    pl.DataFrame([event("x"), event("y"), event("z")]).write_parquet(day / "b-x.parquet")
    results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert sorted(r.rows_read for r in results) == [1, 3]


def test_parquet_nanosecond_timestamps_with_zone_load(data_dir, day):
    day.mkdir(parents=True)
    frame = pl.DataFrame([event("ns")]).with_columns(
        pl.col("occurred_at").str.to_datetime(time_unit="ns", time_zone="Europe/Amsterdam"))
    frame.write_parquet(day / "a.parquet")
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert result.rows_loaded == 1
    assert query(data_dir.warehouse, "SELECT occurred_at::VARCHAR FROM raw.app_action_logs") == [("2026-11-19 09:00:00+00",)]


def test_csv_edge_cases_quarantine_rows_not_files(data_dir, day):
    day.mkdir(parents=True)
    header = b"event_id,brand_id,action_type,occurred_at,amount,user_agent\n"
    rows = [
        b"ok,1,purchase,2026-11-19T10:00:00Z,5,ua\n",
        b"big,99999999999999999999999,purchase,2026-11-19T10:00:00Z,5,ua\n",
        b"nan,1,purchase,2026-11-19T10:00:00Z,NaN,ua\n",
        b"bytes,1,purchase,2026-11-19T10:00:00Z,5,caf\xe9\n",
        b"wide,1,purchase,2026-11-19T10:00:00Z,5," + b"u" * 200_000 + b"\n",
        "digit,\u0661,purchase,2026-11-19T10:00:00Z,5,ua\n".encode(),
    ]
    (day / "pos.csv").write_bytes(header + b"".join(rows))
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 1, 5)
    assert quarantine_reasons(data_dir.warehouse) == [
        (3, "wrong_type"), (4, "wrong_type"), (5, "invalid_utf8"), (6, "out_of_range"), (7, "wrong_type")]


def test_csv_with_a_repeated_column_is_rejected(data_dir, day):
    day.mkdir(parents=True)
    (day / "pos.csv").write_text("event_id,brand_id,brand_id\ne1,1,2\n")
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert result.status == "rejected"
    assert quarantine_reasons(data_dir.warehouse) == [(0, "csv_duplicate_column")]


def test_unchanged_extract_under_a_newer_stamp_becomes_current(data_dir):
    folder = data_dir.landing / "app/reference/ranks"
    a = [{"id": 1, "brand_id": 1, "key": "gold", "name": "Gold", "points_required": 5000}]
    b = [{"id": 2, "brand_id": 1, "key": "silver", "name": "Silver", "points_required": 1000}]
    write_lines(folder / "ranks-20261118T000000Z.ndjson", a)
    write_lines(folder / "ranks-20261119T000000Z.ndjson", b)
    write_lines(folder / "ranks-20261120T000000Z.ndjson", a)  # same bytes as the first extract
    load(data_dir.warehouse, data_dir.landing, REFERENCE["ranks"])
    assert query(data_dir.warehouse, "SELECT id FROM raw.app_ranks") == [(1,)]


def test_an_invalid_newest_extract_is_not_overtaken_by_a_late_older_one(data_dir):
    folder = data_dir.landing / "app/reference/ranks"
    write_lines(folder / "ranks-20261120T000000Z.ndjson", [{"id": "bad"}])
    load(data_dir.warehouse, data_dir.landing, REFERENCE["ranks"])
    write_lines(folder / "ranks-20261119T000000Z.ndjson",
                [{"id": 1, "brand_id": 1, "key": "gold", "name": "Gold", "points_required": 5000}])
    [late] = load(data_dir.warehouse, data_dir.landing, REFERENCE["ranks"])
    assert late.status == "superseded"


def test_export_attributes_are_kept_in_every_format(data_dir):
    folder = data_dir.landing / "customerio/exports"
    write_lines(folder / "people-20261119T000000Z.ndjson", [{"cio_id": "c1", "plan": "gold"}])
    folder.joinpath("people-20261120T000000Z.csv").write_text("cio_id,plan\nc2,silver\n")
    pl.DataFrame([{"cio_id": "c3", "plan": "bronze"}]).write_parquet(folder / "people-20261121T000000Z.parquet")
    load(data_dir.warehouse, data_dir.landing, CUSTOMERIO_EXPORTS)
    rows = query(data_dir.warehouse, "SELECT cio_id, attributes ->> 'plan' FROM raw.customerio_exports ORDER BY 1")
    assert rows == [("c1", "gold"), ("c2", "silver"), ("c3", "bronze")]


def test_odd_names_never_crash_discovery(data_dir):
    write_lines(data_dir.landing / "app/reference/users/users-20251340T000000Z.ndjson", [{"id": 1, "brand_id": 1}])
    write_lines(data_dir.landing / "app/action_logs/dt=2026-02-30/a.ndjson", [event("a")])
    [users] = discover(data_dir.landing, "app/reference/users")
    assert users.stamp.year >= 2026  # not a real stamp: the arrival time stands in
    [logs] = discover(data_dir.landing, "app/action_logs")
    assert date.fromisoformat(logs.partition)  # not a real day: the arrival day stands in
