"""An analyst session left open on the snapshot never makes a pipeline run fail."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.ingestion.helpers import event, write_lines
from tests.orchestration.build import build_all

ANALYST = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    query = "SELECT sum(rows_loaded) FROM audit.ingested_files WHERE source = 'app_action_logs'"
    print(con.execute(query).fetchone()[0], flush=True)
    sys.stdin.readline()                      # the session stays open while the pipeline runs
    print(con.execute(query).fetchone()[0], flush=True)
""")


def count(path) -> int:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT sum(rows_loaded) FROM audit.ingested_files WHERE source = 'app_action_logs'").fetchone()[0]
    finally:
        con.close()


@pytest.mark.slow  # two builds of the whole pipeline
def test_open_analyst_session_does_not_block_a_build(data_dir, dbt_manifest):
    write_lines(data_dir.landing / "app/action_logs/dt=2026-11-18/a.ndjson", [event("a1"), event("a2")])
    assert build_all(data_dir).success

    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(data_dir.analytics)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "2"
        write_lines(data_dir.landing / "app/action_logs/dt=2026-11-19/b.ndjson", [event("b1"), event("b2"), event("b3")])
        assert build_all(data_dir).success  # while the analyst holds the snapshot open
        assert count(data_dir.analytics) == 5  # new sessions see the new snapshot
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "2"  # the open session keeps a consistent old copy
    finally:
        analyst.kill()
        analyst.wait()
    leftovers = [p.name for p in data_dir.root.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert not os.path.exists(str(data_dir.analytics) + ".wal")


def test_the_snapshot_holds_no_raw_text_and_nothing_of_an_erased_member(tmp_path, dbt_manifest):  # assets.* reads it
    import duckdb

    from assets.analytics_snapshot import ANALYST_RELATIONS, ANALYST_SELECTS
    from ingestion.warehouse import ensure_audit_tables, publish_snapshot

    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ensure_audit_tables(con)
    con.execute("""INSERT INTO audit.quarantine (source, file_id, path, position, reason, detail, raw, raw_bytes, quarantined_at)
        VALUES ('app_users', 'f1', 'app/reference/users/u.ndjson', 7, 'wrong_type', 'points_balance: expected integer',
                '{"id": 7, "email": "erased.member@example.org", "points_balance": "many"}', 64, now())""")
    con.execute("CREATE SCHEMA intermediate")
    con.execute("CREATE TABLE intermediate.int_identity__erased_profiles AS SELECT 'prof_erased' AS profile_id")
    con.execute("CREATE SCHEMA identity")
    con.execute("""CREATE TABLE identity.identifier_profiles AS SELECT * FROM (VALUES
        (1, 'email', 'erased.member@example.org', 'prof_erased'), (1, 'email', 'kept@example.org', 'prof_kept'))
        AS t(brand_id, id_type, value, profile_id)""")
    con.execute("""CREATE TABLE identity.rejected_links AS SELECT * FROM (VALUES
        ('app_user', 1, '9', 'phone', '+15550000001', 'prof_erased', 'limit_user_id'),
        ('action_log', 1, 'e9', 'email', 'erased.member@example.org', 'prof_other', 'limit_email'),
        ('app_user', 1, '7', 'phone', '+15550000003', 'prof_kept', 'limit_user_id'),
        ('app_user', 1, '8', 'phone', '+15550000002', 'prof_kept', 'limit_user_id'))
        AS t(source, brand_id, record_id, id_type, value, kept_in_profile_id, reason)""")
    # Record 7 is the erased member's own record, which offered a phone another profile kept.
    con.execute("""CREATE TABLE identity.record_profiles AS SELECT * FROM (VALUES
        ('app_user', 1, '7', 'prof_erased'), ('app_user', 1, '8', 'prof_kept')) AS t(source, brand_id, record_id, profile_id)""")
    con.execute("""CREATE TABLE identity.profile_merges AS SELECT * FROM (VALUES
        ('prof_erased', 'prof_gone', 'erased.member@example.org'), ('prof_kept', 'prof_old', 'kept@example.org'))
        AS t(profile_id, merged_profile_id, cause_identifier)""")
    con.execute("""CREATE TABLE identity.merge_review AS SELECT * FROM (VALUES
        ('action_log', 'e1', ['prof_kept', 'prof_erased']), ('action_log', 'e2', ['prof_kept', 'prof_other']))
        AS t(source, record_id, matched_profile_ids)""")
    con.close()

    counts = publish_snapshot(warehouse, tmp_path / "analytics.duckdb", ANALYST_RELATIONS, ANALYST_SELECTS)

    assert counts["identity.rejected_links"] == 1 and counts["identity.profile_merges"] == 1
    assert counts["identity.merge_review"] == 1 and counts["audit.quarantine"] == 1
    snapshot = duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True)
    try:
        assert "raw" not in [c[0] for c in snapshot.execute("DESCRIBE audit.quarantine").fetchall()]
        text_columns = snapshot.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                                        "WHERE data_type LIKE 'VARCHAR%'").fetchall()
        found = [(s, t, c) for s, t, c in text_columns if snapshot.execute(
            f"""SELECT count(*) FROM "{s}"."{t}" WHERE CAST("{c}" AS VARCHAR) LIKE '%erased%'
                OR CAST("{c}" AS VARCHAR) = '+15550000003'""").fetchone()[0]]
        assert found == []
    finally:
        snapshot.close()


def test_the_analysts_command_line_client_reads_the_snapshot(tmp_path):
    """The README's `.venv/bin/duckdb -readonly data/analytics.duckdb` works: the pinned client reads the
    storage version the snapshot is written in."""
    import duckdb

    from ingestion.warehouse import ensure_audit_tables, publish_snapshot

    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ensure_audit_tables(con)
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.profiles AS SELECT 42 AS user_id, ['a', 'b'] AS tags, '{\"k\": 1}'::JSON AS extra")
    con.close()
    publish_snapshot(warehouse, tmp_path / "analytics.duckdb", ["marts", "audit"])

    client = os.path.join(os.path.dirname(sys.executable), "duckdb")
    result = subprocess.run([client, "-readonly", "-csv", str(tmp_path / "analytics.duckdb"), "-c",
                             "SELECT user_id, tags, extra ->> 'k' AS k FROM marts.profiles"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["user_id,tags,k", "42,\"[a, b]\",1"]
