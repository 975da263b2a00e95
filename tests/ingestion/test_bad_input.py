"""Every kind of bad input ends in the quarantine with its reason; good rows around it still load."""

from __future__ import annotations

import gzip
import json
import zlib

import polars as pl
import pytest

from ingestion import readers
from ingestion.sources import ACTION_LOGS, REFERENCE
from tests.ingestion.helpers import event, load, query, quarantine_reasons, write_lines

DAY_DIR = "app/action_logs/dt=2026-11-19"


@pytest.fixture
def day(data_dir):
    return data_dir.landing / DAY_DIR


def loaded_ids(data_dir) -> list[str]:
    return [r[0] for r in query(data_dir.warehouse, "SELECT event_id FROM raw.app_action_logs ORDER BY event_id")]


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ('{"event_id": "x", "brand_id": 1,', "malformed_json"),
        ("[1, 2, 3]", "not_an_object"),
        (json.dumps(event("x", brand_id="one")), "wrong_type"),
        (json.dumps(event("x", points_awarded=12.5)), "wrong_type"),
        (json.dumps(event("x", identifiers={"email": ["a@b.c"]})), "wrong_type"),
        (json.dumps(event("x", identifiers="a@b.c")), "wrong_type"),
        (json.dumps(event("x", identifiers={"email": "a@b.c", "phone": 4155550123})), "wrong_type"),
        (json.dumps(event("x", identifiers={"loyalty_id": True})), "wrong_type"),
        (json.dumps(event("x", identifiers={"device_id": "d:1", "qr_id": {"v": "q"}})), "wrong_type"),
        (json.dumps(event("x", occurred_at=...)), "missing_required_field"),
        (json.dumps(event(..., brand_id=1)), "missing_required_field"),
        (json.dumps(event("x", action_type="teleported")), "unknown_action_type"),
        (json.dumps(event("x", occurred_at="yesterday")), "unparseable_timestamp"),
        (json.dumps(event("x", occurred_at="2026-11-19 10:00:00")), "unparseable_timestamp"),  # no offset
        (json.dumps(event("x", occurred_at="2026-02-30T10:00:00Z")), "unparseable_timestamp"),
        (json.dumps(event("x", occurred_at="2031-01-01T00:00:00Z")), "timestamp_in_future"),
        (json.dumps(event("x", amount=-5)), "out_of_range"),
    ],
)
def test_bad_row_is_quarantined_with_reason(data_dir, day, bad_line, reason):
    write_lines(day / "events.ndjson", [event("good-1"), bad_line, event("good-2")])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert quarantine_reasons(data_dir.warehouse) == [(2, reason)]
    assert loaded_ids(data_dir) == ["good-1", "good-2"]
    raw, detail = query(data_dir.warehouse, "SELECT raw, detail FROM audit.quarantine")[0]
    assert raw == bad_line and detail


def test_non_utf8_line_is_quarantined_and_rest_loads(data_dir, day):
    write_lines(day / "events.ndjson", [event("good-1"), b'{"event_id": "caf\xe9", "brand_id": 1}', event("good-2")])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert quarantine_reasons(data_dir.warehouse) == [(2, "invalid_utf8")]
    assert result.rows_loaded == 2
    raw = query(data_dir.warehouse, "SELECT raw FROM audit.quarantine")[0][0]
    assert "\\xe9" in raw  # the bad byte stays visible


def test_ten_megabyte_line_is_quarantined_not_loaded_into_memory_twice(data_dir, day):
    huge = event("huge", context={"blob": "x" * (10 * 1024 * 1024)})
    write_lines(day / "events.ndjson", [event("good-1"), huge])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert quarantine_reasons(data_dir.warehouse) == [(2, "row_too_large")]
    kept, size = query(data_dir.warehouse, "SELECT strlen(raw), raw_bytes FROM audit.quarantine")[0]
    assert size > 10 * 1024 * 1024 and kept == 65_536  # the file keeps the rest; the quarantine a prefix
    assert result.rows_loaded == 1


def test_empty_file_is_recorded_with_zero_rows(data_dir, day):
    (day).mkdir(parents=True)
    (day / "empty.ndjson").write_bytes(b"")
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 0, 0)
    assert query(data_dir.warehouse, "SELECT count(*) FROM audit.ingested_files")[0][0] == 1


def test_blank_lines_are_not_rows_but_positions_stay_line_numbers(data_dir, day):
    write_lines(day / "events.ndjson", [event("a"), "", "   ", "{broken"])
    load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert quarantine_reasons(data_dir.warehouse) == [(4, "malformed_json")]


def test_csv_with_a_missing_required_column_quarantines_every_row(data_dir, day):
    day.mkdir(parents=True)
    (day / "pos.csv").write_text("event_id,brand_id,action_type,amount\np1,1,pos_transaction,12.50\np2,1,pos_transaction,8\n")
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert result.rows_read == 2 and result.rows_loaded == 0
    assert [r[1] for r in quarantine_reasons(data_dir.warehouse)] == ["missing_required_field"] * 2
    assert "occurred_at" in query(data_dir.warehouse, "SELECT detail FROM audit.quarantine LIMIT 1")[0][0]


def test_csv_rows_are_typed_and_ragged_rows_quarantined(data_dir, day):
    day.mkdir(parents=True)
    (day / "pos.csv").write_text(
        "event_id,brand_id,action_type,occurred_at,user_id,amount,identifiers\n"
        'p1,1,pos_transaction,2026-11-19T10:00:00Z,5,12.50,"{""loyalty_id"": ""LY1""}"\n'
        "p2,1,pos_transaction,2026-11-19T11:00:00Z\n"
        "p3,one,pos_transaction,2026-11-19T12:00:00Z,5,3,\n"
    )
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 1, 2)
    assert quarantine_reasons(data_dir.warehouse) == [(3, "csv_wrong_field_count"), (4, "wrong_type")]
    row = query(data_dir.warehouse, "SELECT amount, identifiers ->> 'loyalty_id', user_id FROM raw.app_action_logs")[0]
    assert (float(row[0]), row[1], row[2]) == (12.5, "LY1", 5)


def test_duplicate_event_id_across_files_loads_once(data_dir, day):
    write_lines(day / "a.ndjson", [event("e1"), event("e2")])
    write_lines(day.with_name("dt=2026-11-20") / "b.ndjson", [event("e2"), event("e3")])
    results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert [(r.rows_loaded, r.rows_duplicate) for r in results] == [(2, 0), (1, 1)]
    assert loaded_ids(data_dir) == ["e1", "e2", "e3"]


def test_same_event_id_other_brand_is_a_different_event(data_dir, day):
    write_lines(day / "a.ndjson", [event("e1"), event("e1", brand_id=2)])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert result.rows_loaded == 2


def test_reused_event_id_with_different_content_is_a_conflict(data_dir, day):
    write_lines(day / "a.ndjson", [event("e1"), event("e1", action_type="purchase", amount=9.5)])
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (result.rows_loaded, result.rows_duplicate, result.rows_quarantined) == (1, 0, 1)
    assert quarantine_reasons(data_dir.warehouse) == [(2, "duplicate_key_conflict")]


def test_same_file_under_two_names_loads_once(data_dir, day):
    write_lines(day / "a.ndjson", [event("e1"), event("e2")])
    write_lines(day / "a-copy.ndjson", [event("e1"), event("e2")])
    first, second = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (first.status, first.rows_loaded) == ("loaded", 2)
    assert (second.status, second.rows_read) == ("duplicate_content", 0)
    assert query(data_dir.warehouse, "SELECT duplicate_of FROM audit.ingested_files WHERE status = 'duplicate_content'") == [(first.path,)]
    assert len(loaded_ids(data_dir)) == 2


def test_temporary_and_hidden_files_are_never_read(data_dir, day):
    write_lines(day / "a.ndjson", [event("e1")])
    day.joinpath("b.ndjson.tmp").write_text(json.dumps(event("tmp")) + "\n")
    day.joinpath(".c.ndjson").write_text(json.dumps(event("hidden")) + "\n")
    day.joinpath("_SUCCESS").write_text("")
    results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert [r.path for r in results] == [f"{DAY_DIR}/a.ndjson"]
    assert loaded_ids(data_dir) == ["e1"]


def test_unsupported_format_and_corrupt_gzip_are_rejected_with_reason(data_dir, day):
    day.mkdir(parents=True)
    (day / "events.xlsx").write_bytes(b"PK\x03\x04")
    (day / "events.ndjson.gz").write_bytes(gzip.compress(b'{"a":1}\n')[:-6])
    results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert sorted(r.status for r in results) == ["rejected", "rejected"]
    assert sorted(r[1] for r in quarantine_reasons(data_dir.warehouse)) == ["corrupt_compression", "unsupported_format"]


def test_gzipped_ndjson_and_parquet_load_the_same_events(data_dir, day):
    rows = [event("g1"), event("g2", identifiers={"email": "A@x.com"}, context={"k": 1})]
    day.mkdir(parents=True)
    (day / "a.ndjson.gz").write_bytes(gzip.compress("\n".join(json.dumps(r) for r in rows).encode()))
    frame = pl.DataFrame([event("p1", occurred_at="2026-11-19T09:00:00Z"), event("p2")]).with_columns(
        pl.col("occurred_at").str.to_datetime(time_zone="UTC"))
    frame.write_parquet(day / "b.parquet")
    results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert [(r.status, r.rows_loaded) for r in results] == [("loaded", 2), ("loaded", 2)]
    assert query(data_dir.warehouse, "SELECT identifiers ->> 'email' FROM raw.app_action_logs WHERE event_id = 'g2'") == [("A@x.com",)]
    assert query(data_dir.warehouse, "SELECT occurred_at::VARCHAR FROM raw.app_action_logs WHERE event_id = 'p2'") == [("2026-11-19 09:00:00+00",)]


def test_parquet_naive_timestamps_are_quarantined(data_dir, day):
    day.mkdir(parents=True)
    pl.DataFrame([event("p1")]).with_columns(pl.col("occurred_at").str.slice(0, 19).str.to_datetime()).write_parquet(day / "a.parquet")
    [result] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert result.rows_quarantined == 1
    assert [r[1] for r in quarantine_reasons(data_dir.warehouse)] == ["unparseable_timestamp"]


def test_reference_extract_newest_stamp_wins_even_when_the_older_arrives_later(data_dir):
    folder = data_dir.landing / "app/reference/ranks"
    rank = {"id": 1, "brand_id": 1, "key": "gold", "name": "Gold", "points_required": 5000}
    write_lines(folder / "ranks-20261120T000000Z.ndjson", [rank, {**rank, "id": 2, "key": "silver"}])
    load(data_dir.warehouse, data_dir.landing, REFERENCE["ranks"])
    write_lines(folder / "ranks-20261119T000000Z.ndjson", [rank])
    [late] = load(data_dir.warehouse, data_dir.landing, REFERENCE["ranks"])
    assert late.status == "superseded"
    assert query(data_dir.warehouse, "SELECT count(*) FROM raw.app_ranks")[0][0] == 2
    write_lines(folder / "ranks-20261121T000000Z.ndjson", [{**rank, "points_required": 6000}])
    load(data_dir.warehouse, data_dir.landing, REFERENCE["ranks"])
    assert query(data_dir.warehouse, "SELECT id, points_required FROM raw.app_ranks") == [(1, 6000)]


def gzip_stream(path, chunk: bytes, times: int) -> None:
    """Compress `chunk` repeated `times` without ever holding the expansion."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
    with open(path, "wb") as out:
        for _ in range(times):
            out.write(compressor.compress(chunk))
        out.write(compressor.flush())


@pytest.mark.slow
def test_decompression_bombs_and_row_floods_are_refused_once(data_dir, day):
    day.mkdir(parents=True)
    gzip_stream(day / "bomb.ndjson.gz", b"{}\n" * (1 << 18), 1366)  # 1 MiB on disk, 1 GiB of rows inside
    gzip_stream(day / "zeros.ndjson.gz", b"\0" * (1 << 20), 1024)  # 1 GiB of zeros, not even a line
    (day / "flood.ndjson").write_bytes(b"\n" * (readers.MAX_FILE_ROWS + 1))  # 20 MB, but too many rows
    write_lines(day / "good.ndjson", [event("good-1")])
    assert (day / "bomb.ndjson.gz").stat().st_size < 8 * 2**20

    results = {r.path.rsplit("/", 1)[-1]: r for r in load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)}

    assert {name: r.status for name, r in results.items()} == {
        "bomb.ndjson.gz": "rejected", "zeros.ndjson.gz": "rejected", "flood.ndjson": "rejected", "good.ndjson": "loaded"}
    assert sorted(quarantine_reasons(data_dir.warehouse)) == [(0, "file_too_large"), (0, "file_too_large"),
                                                              (0, "too_many_rows")]
    assert loaded_ids(data_dir) == ["good-1"]
    assert load(data_dir.warehouse, data_dir.landing, ACTION_LOGS) == []  # recorded: never tried again
