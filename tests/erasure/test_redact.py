"""Erasure in the warehouse: the erased member's rows are redacted everywhere, keys and counts hold, nothing else changes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from erasure.redact import PROFILE_AGGREGATES, redact_erased
from ingestion.reconcile import reconcile
from ingestion.sources import ACTION_LOGS
from ingestion.warehouse import connect
from tests.erasure.erased_member import COOKIE, ERASED_EMAIL, SOURCES, duckdb_warehouse
from tests.ingestion.helpers import NOW, event, load, query, write_lines

@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """A loaded DuckDB warehouse of the erasure tests' data (tests/erasure/erased_member.py)."""
    return duckdb_warehouse(tmp_path)


def landing(warehouse: Path) -> Path:
    return warehouse.parent / "landing"


def test_the_erased_member_is_redacted_and_everything_else_is_kept(warehouse: Path):
    before_kept = query(warehouse, "SELECT * FROM raw.app_action_logs WHERE event_id = 'e2'")
    lineage = ("SELECT event_id, brand_id, _file_id, _position, _partition, _extracted_at, _row_hash, _loaded_at "
               "FROM raw.app_action_logs ORDER BY ALL")
    lineage_before = query(warehouse, lineage)
    con = connect(warehouse)
    summary = redact_erased(con)
    con.close()

    # A redacted row is the same row (once, with its key and lineage), only emptied.
    assert query(warehouse, lineage) == lineage_before

    assert summary.erased_members == 1 and summary.erased_profiles == 1
    # Their own event and the anonymous one stitched to them keep only key and lineage.
    assert query(warehouse, """SELECT event_id, brand_id, action_type, user_id, identifiers, ip_address, _erased_at IS NOT NULL
        FROM raw.app_action_logs ORDER BY event_id""") == [
        ("e1", 1, None, None, None, None, True), ("e2", 1, "product_scanned", 6, '{"email":"kept@example.org"}', None, False),
        ("e3", 1, None, None, None, None, True)]
    assert query(warehouse, "SELECT * FROM raw.app_action_logs WHERE event_id = 'e2'") == before_kept
    assert query(warehouse, "SELECT id, brand_id, email, first_name, phone_number, _erased_at IS NOT NULL FROM raw.app_users "
                            "ORDER BY id") == [(5, 1, None, None, None, True), (6, 1, "kept@example.org", "Kim", None, False)]
    # A referral between them stays the other member's.
    assert query(warehouse, "SELECT id, referrer_user_id, referee_user_id, referral_code, email FROM raw.app_referrals "
                            "ORDER BY id") == [(1, 6, None, "KIM6", None), (2, None, 6, None, "kept@example.org")]
    # The quarantined line of theirs keeps its reason and place, not its text.
    assert query(warehouse, "SELECT position, reason, raw, detail FROM audit.quarantine") == [
        (4, "unknown_action_type", None, None)]
    assert query(warehouse, "SELECT source, record_id FROM identity.record_profiles ORDER BY 1, 2") == [
        ("action_log", "e2"), ("app_user", "6")]
    assert query(warehouse, "SELECT count(*) FROM identity.identifier_profiles WHERE profile_id = 'prof_erased'") == [(0,)]
    assert query(warehouse, "SELECT record_id FROM identity.rejected_links") == [("e2",)]
    assert query(warehouse, "SELECT record_id FROM identity.merge_review") == [("e2",)]  # row 2 matched the erased profile
    assert query(warehouse, "SELECT event_id FROM staging.stg_app__action_logs ORDER BY 1") == [("e2",)]
    assert query(warehouse, "SELECT raw_value FROM intermediate.int_identity__event_observations") == [("kept@example.org",)]
    assert query(warehouse, "SELECT source, record_id FROM intermediate.int_identity__event_links") == [("action_log", "e2")]
    assert query(warehouse, "SELECT source, record_id FROM intermediate.int_identity__record_links") == [("app_user", "6")]
    assert query(warehouse, "SELECT brand_id, user_id, profile_id FROM identity.erasures") == [(1, 5, "prof_erased")]
    # Every row of every file is still accounted for.
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert {s.name: reconcile(con, s) for s in SOURCES} == {s.name: [] for s in SOURCES}
    finally:
        con.close()


def test_redaction_is_idempotent_and_a_resent_event_stays_a_duplicate(warehouse: Path):
    con = connect(warehouse)
    redact_erased(con)
    after_first = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                   for t in ("raw.app_action_logs", "raw.app_users", "raw.app_referrals", "audit.quarantine")}
    again = redact_erased(con)
    assert again.rows_redacted == 0 and sum(again.derived_rows_deleted.values()) == 0
    assert {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in after_first} == after_first
    con.close()
    # The app sends the erased member's event again: the same content is a duplicate of the redacted row.
    write_lines(landing(warehouse) / "app/action_logs/dt=2026-11-19/resent.ndjson", [
        event("e1", user_id=5, identifiers={"email": ERASED_EMAIL, "cookie_id": COOKIE}, ip_address="203.0.113.5")])
    [result] = load(warehouse, landing(warehouse), ACTION_LOGS)
    assert (result.rows_loaded, result.rows_duplicate, result.rows_quarantined) == (0, 1, 0)
    assert query(warehouse, "SELECT count(*) FROM raw.app_action_logs WHERE event_id = 'e1'") == [(1,)]


def test_links_of_an_event_erased_by_an_earlier_build_go_too(warehouse: Path):
    con = connect(warehouse)
    redact_erased(con)
    # The earlier build's identity tables no longer name e1's profile: only its redacted raw row says it is erased.
    con.execute("INSERT INTO intermediate.int_identity__event_links VALUES ('action_log', 1, 'e1', 'email', 'x@example.org')")
    again = redact_erased(con)
    con.close()
    assert again.derived_rows_deleted["intermediate.int_identity__event_links"] == 1
    assert query(warehouse, "SELECT source, record_id FROM intermediate.int_identity__event_links") == [("action_log", "e2")]


def test_the_erased_members_parsed_prediction_payloads_go_and_a_later_one_too(warehouse: Path):
    """Staging keeps the parsed payloads across builds: the member's own (by user id) and one identity resolution
    gave their profile go; a payload about them staged by a later build goes in that build."""
    con = connect(warehouse)
    con.execute("CREATE TABLE staging.stg_customerio__prediction_webhooks AS SELECT * FROM (VALUES "
                "('w1', 5, 0.9), ('w2', 6, 0.1), ('w3', NULL, 0.5)) AS t(webhook_id, user_id, churn_probability)")
    con.execute("INSERT INTO identity.record_profiles VALUES ('customerio_webhook', 1, 'w3', 'prof_erased')")
    first = redact_erased(con)
    con.execute("INSERT INTO staging.stg_customerio__prediction_webhooks VALUES ('w4', 5, 0.8)")
    later = redact_erased(con)
    con.close()
    assert first.derived_rows_deleted["staging.stg_customerio__prediction_webhooks"] == 2
    assert later.derived_rows_deleted["staging.stg_customerio__prediction_webhooks"] == 1
    assert query(warehouse, "SELECT webhook_id FROM staging.stg_customerio__prediction_webhooks") == [("w2",)]


def test_aggregates_kept_per_profile_lose_the_erased_profiles_and_those_that_held_an_erased_event(warehouse: Path):
    """The tables of aggregates per profile (macros/profile_aggregates.sql) keep a profile's rows until its events
    change: the erased profile's rows go, and so do those of a profile that remains but held an erased event (the
    member's user id blocked, say), which the next build computes again without it."""
    con = connect(warehouse)
    con.execute("""CREATE TABLE intermediate.int_identity__profile_events AS SELECT * FROM (VALUES
        (1, 'e1', 'prof_blocked'), (1, 'e2', 'prof_kept'), (1, 'e3', 'prof_erased')) AS t(brand_id, event_id, profile_id)""")
    for table in PROFILE_AGGREGATES:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
        con.execute(f"""CREATE TABLE {table} AS SELECT * FROM (VALUES ('prof_erased', 2), ('prof_blocked', 1),
            ('prof_kept', 1)) AS t(profile_id, total_events)""")
    summary = redact_erased(con)
    assert redact_erased(con).derived_rows_deleted["marts.profile_channel_stats"] == 0
    con.close()
    for table in PROFILE_AGGREGATES:
        assert summary.derived_rows_deleted[table] == 2
        assert query(warehouse, f"SELECT profile_id FROM {table}") == [("prof_kept",)]
    assert query(warehouse, "SELECT event_id FROM intermediate.int_identity__profile_events") == [("e2",)]


def test_the_prediction_history_loses_the_erased_members_rows_and_those_whose_people_export_rows_are_redacted(
        warehouse: Path):
    """The prediction history keeps a profile's rows until its payloads change (macros/prediction_history.sql): the
    erased profile's rows go, and a row of the erased member under a profile of an earlier build. People export rows
    are redacted by the erased member's user id in any brand and by their email: the predictions of the members those
    rows were about go too, and the next build computes them again without those rows."""
    con = connect(warehouse)
    summary = redact_erased(con)
    again = redact_erased(con)
    con.close()
    assert summary.raw_rows_redacted["raw.customerio_exports"] == 2
    assert query(warehouse, """SELECT cio_id, id, email, attributes, person_key LIKE 'erased:%' FROM raw.customerio_exports
        ORDER BY id NULLS FIRST""") == [(None, None, None, None, True), (None, None, None, None, True),
                                        ("cio_9", "9", "nine@example.org", '{"churn_probability":0.2}', False)]
    assert (summary.derived_rows_deleted["marts.prediction_history"], again.derived_rows_deleted["marts.prediction_history"]) == (4, 0)
    assert query(warehouse, "SELECT profile_id FROM marts.prediction_history ORDER BY 1") == [("prof_kept",), ("prof_untouched",)]


def test_without_a_people_export_row_the_erased_user_id_in_another_brand_is_another_member(warehouse: Path):
    """A user id is a member only within a brand: with no export row to redact, member 5 of brand 2 keeps their
    predictions, as does member 8, whose only tie to the erased member was an export row."""
    con = connect(warehouse)
    con.execute("DELETE FROM raw.customerio_exports")
    summary = redact_erased(con)
    con.close()
    assert summary.derived_rows_deleted["marts.prediction_history"] == 2
    assert query(warehouse, "SELECT profile_id FROM marts.prediction_history ORDER BY 1") == [
        ("prof_kept",), ("prof_same_email",), ("prof_same_id",), ("prof_untouched",)]


def test_a_failed_redaction_changes_nothing_and_the_next_run_finishes_it(warehouse: Path):
    con = connect(warehouse)
    raw_before = con.execute("SELECT * FROM raw.app_action_logs ORDER BY ALL").fetchall()
    # A table that breaks the step half-way (its redaction statement cannot bind).
    con.execute("ALTER TABLE identity.rejected_links RENAME COLUMN kept_in_profile_id TO kept_in")
    with pytest.raises(duckdb.BinderException):
        redact_erased(con)
    assert con.execute("SELECT * FROM raw.app_action_logs ORDER BY ALL").fetchall() == raw_before
    assert con.execute("SELECT count(*) FROM identity.record_profiles WHERE profile_id = 'prof_erased'").fetchall() == [(3,)]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'identity' "
                       "AND table_name = 'erasures'").fetchall() == [(0,)]
    con.execute("ALTER TABLE identity.rejected_links RENAME COLUMN kept_in TO kept_in_profile_id")
    summary = redact_erased(con)
    con.close()
    assert summary.raw_rows_redacted["raw.app_action_logs"] == 2
    assert query(warehouse, "SELECT count(*) FROM raw.app_action_logs WHERE _erased_at IS NOT NULL") == [(2,)]


def tables_content(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [f'"{s}"."{t}"' for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()]
        return {n: con.execute(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


def test_compaction_removes_the_erased_bytes_from_the_file_and_keeps_every_row(warehouse: Path, monkeypatch):
    from erasure import compact as compaction

    con = connect(warehouse)
    con.execute("CHECKPOINT")
    assert ERASED_EMAIL.encode() in warehouse.read_bytes()  # the loaded value is in the file as written
    summary = redact_erased(con, now=NOW)
    assert not compaction.due(con, max_days=7, now=NOW)
    assert compaction.due(con, max_days=7, now=NOW + timedelta(days=7))
    con.close()
    live = tables_content(warehouse)

    # A crash between the copy and the swap leaves the old file in place and the compaction still due.
    def crash(*_):
        raise OSError("killed before the rename")
    monkeypatch.setattr(compaction, "sync_into_place", crash)
    with pytest.raises(OSError):
        compaction.compact(warehouse, now=NOW)
    monkeypatch.undo()
    con = connect(warehouse)
    assert compaction.due(con, max_days=0, now=NOW)
    con.close()

    sizes = compaction.compact(warehouse, now=NOW)
    assert sizes["bytes_after"] > 0
    assert ERASED_EMAIL.encode() not in warehouse.read_bytes()
    assert COOKIE.encode() not in warehouse.read_bytes()
    after = tables_content(warehouse)
    changed = summary.rows_redacted + sum(summary.derived_rows_deleted.values())
    assert after.pop('"audit"."erasure_redactions"') == [(NOW, changed, NOW)]
    live.pop('"audit"."erasure_redactions"')
    assert after == live
    con = connect(warehouse)
    assert not compaction.due(con, max_days=0, now=NOW)
    con.close()
    assert [p.name for p in warehouse.parent.iterdir() if "compact" in p.name] == []
