"""What the bulk load could get wrong: string values taken from their JSON text, lines that start with a
blank, gzipped files, and which row of a repeated key wins within a batch and across batches of one run."""

from __future__ import annotations

import gzip
import json

import pytest

from ingestion.loader import Loader
from ingestion.sources import ACTION_LOGS
from ingestion.warehouse import connect
from tests.ingestion.helpers import NOW, event, load, query, quarantine_reasons

DAY_DIR = "app/action_logs/dt=2026-11-19"


@pytest.fixture
def day(data_dir):
    path = data_dir.landing / DAY_DIR
    path.mkdir(parents=True)
    return path


def every_file_adds_up(data_dir) -> bool:
    return query(data_dir.warehouse, "SELECT bool_and(rows_read = rows_loaded + rows_quarantined + rows_duplicate) "
                                     "FROM audit.ingested_files")[0][0]


def test_string_values_with_escapes_load_as_their_text(data_dir, day):
    values = {
        "event_id": 'quote " and back \\ slash',
        "channel": "café",  # written escaped (\u00e9) and as UTF-8 below
        "ip_address": "",
        "user_agent": 'line\nbreak, tab\t, "quoted", slash / and \u2603',
    }
    escaped = json.dumps(event(**values), ensure_ascii=True)
    plain = json.dumps(event(**{**values, "event_id": "plain"}), ensure_ascii=False)
    (day / "a.ndjson").write_text(f"{escaped}\n{plain.replace('/', chr(92) + '/')}\n", encoding="utf-8")
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 0)
    rows = query(data_dir.warehouse, "SELECT event_id, channel, ip_address, user_agent FROM raw.app_action_logs ORDER BY event_id")
    assert rows == [("plain", values["channel"], "", values["user_agent"]),
                    (values["event_id"], values["channel"], "", values["user_agent"])]


def test_number_text_in_a_string_field_stays_text_and_strings_in_number_fields_are_refused(data_dir, day):
    (day / "a.ndjson").write_text("\n".join([
        json.dumps(event("e1", channel="123", ip_address="true")),
        json.dumps(event("e2", user_id="5")),
        json.dumps(event("e3", channel=5)),
    ]) + "\n")
    load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert query(data_dir.warehouse, "SELECT event_id, channel, ip_address FROM raw.app_action_logs") == [("e1", "123", "true")]
    assert query(data_dir.warehouse, "SELECT position, reason, detail FROM audit.quarantine ORDER BY position") == [
        (2, "wrong_type", "user_id: expected integer, got varchar"),
        (3, "wrong_type", "channel: expected string, got bigint"),
    ]


def test_gzipped_lines_starting_with_blanks_load_and_bad_lines_keep_their_line_numbers(data_dir, day):
    lines = [
        " \t" + json.dumps(event("e1")),
        "\r" + json.dumps(event("e2")),
        "",
        '  {"event_id": "e3", "brand_id": 1,',
        "  [1, 2]",
        '"just a string"',
        json.dumps(event("e4")),
    ]
    (day / "a.ndjson.gz").write_bytes(gzip.compress("\n".join(lines).encode() + b"\n"))
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 3, 3)
    assert quarantine_reasons(data_dir.warehouse) == [(4, "malformed_json"), (5, "not_an_object"), (6, "not_an_object")]
    assert query(data_dir.warehouse, "SELECT detail FROM audit.quarantine WHERE position = 6") == [
        ("expected a JSON object, got varchar",)]
    assert [r[0] for r in query(data_dir.warehouse, "SELECT event_id FROM raw.app_action_logs ORDER BY 1")] == ["e1", "e2", "e4"]


def test_within_a_batch_the_earlier_file_wins_whatever_the_line_numbers(data_dir, day):
    (day / "a.ndjson").write_text("\n".join(json.dumps(event(e)) for e in ("a1", "a2", "shared")) + "\n")
    (day / "b.ndjson").write_text(json.dumps(event("shared", points_awarded=7)) + "\n" + json.dumps(event("b2")) + "\n")
    results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert [(r.path.rsplit("/", 1)[1], r.rows_loaded, r.rows_quarantined) for r in results] == [("a.ndjson", 3, 0),
                                                                                               ("b.ndjson", 1, 1)]
    assert query(data_dir.warehouse, "SELECT points_awarded FROM raw.app_action_logs WHERE event_id = 'shared'") == [(100,)]
    assert query(data_dir.warehouse, "SELECT path, position, reason FROM audit.quarantine") == [
        (f"{DAY_DIR}/b.ndjson", 1, "duplicate_key_conflict")]
    assert every_file_adds_up(data_dir)


def test_a_key_repeated_in_a_later_batch_of_the_same_run_is_skipped_once(data_dir, day):
    (day / "a.ndjson").write_text(json.dumps(event("e1")) + "\n" + json.dumps(event("e2")) + "\n")
    (day / "b.ndjson").write_text("\n".join([
        json.dumps(event("e2")),  # the same row again: a duplicate
        json.dumps(event("e2")),  # and again within this batch
        json.dumps(event("e1", points_awarded=5)),  # the same key with other content: a conflict
        json.dumps(event("e3")),
    ]) + "\n")
    con = connect(data_dir.warehouse)
    try:
        results = Loader(con, data_dir.landing, now=NOW, batch_bytes=1).load_source(ACTION_LOGS)  # one file per batch
    finally:
        con.close()
    assert [(r.rows_read, r.rows_loaded, r.rows_duplicate, r.rows_quarantined) for r in results] == [(2, 2, 0, 0),
                                                                                                    (4, 1, 2, 1)]
    assert query(data_dir.warehouse, "SELECT event_id, count(*) FROM raw.app_action_logs GROUP BY 1 ORDER BY 1") == [
        ("e1", 1), ("e2", 1), ("e3", 1)]
    assert quarantine_reasons(data_dir.warehouse) == [(3, "duplicate_key_conflict")]
    assert every_file_adds_up(data_dir)
