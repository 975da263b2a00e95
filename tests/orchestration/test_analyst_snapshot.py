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


def test_table_and_column_comments_come_along(tmp_path):
    """CREATE TABLE AS drops comments: the snapshot gets the warehouse's (dbt's descriptions), quotes and all,
    for the columns it keeps."""
    import duckdb

    from assets.analytics_snapshot import ANALYST_RELATIONS, ANALYST_SELECTS
    from ingestion.warehouse import ensure_audit_tables, publish_snapshot

    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ensure_audit_tables(con)
    con.execute("CREATE SCHEMA marts")
    con.execute('CREATE TABLE marts.profiles (user_id BIGINT, "Odd ""name""" VARCHAR, undocumented INTEGER)')
    con.execute("COMMENT ON TABLE marts.profiles IS 'One row per profile: the member''s 360.'")
    con.execute("COMMENT ON COLUMN marts.profiles.user_id IS 'The app''s user id; NULL for anonymous profiles.'")
    con.execute('COMMENT ON COLUMN marts.profiles."Odd ""name""" IS \'A "quoted" name; and a semicolon\'')
    con.execute("COMMENT ON COLUMN audit.quarantine.raw IS 'the row as read'")
    con.execute("COMMENT ON COLUMN audit.quarantine.reason IS 'stable code'")
    expected = {(s, t, c): comment for s, t, c, comment in con.execute(
        "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
        "WHERE comment IS NOT NULL AND NOT (table_name = 'quarantine' AND column_name = 'raw')").fetchall()}
    con.close()

    publish_snapshot(warehouse, tmp_path / "analytics.duckdb", ANALYST_RELATIONS, ANALYST_SELECTS)

    snapshot = duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True)
    try:
        columns = {(s, t, c): comment for s, t, c, comment in snapshot.execute(
            "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND comment IS NOT NULL").fetchall()}
        table = snapshot.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'profiles'").fetchone()[0]
    finally:
        snapshot.close()
    assert len(expected) == 3 and columns == expected  # not the excluded raw text's column
    assert table == "One row per profile: the member's 360."


def test_replacing_one_schema_keeps_the_rest_of_the_snapshot(tmp_path):
    """After a delivery only the sync's outcome is published again: the marts stay those of the last build,
    in the storage version the analysts' client reads."""
    import duckdb

    from ingestion.warehouse import SNAPSHOT_STORAGE_VERSION, publish_snapshot

    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "analytics.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA activation")
    con.execute("CREATE TABLE marts.profiles AS SELECT 1 AS user_id")
    con.execute("COMMENT ON COLUMN marts.profiles.user_id IS 'the app user id'")
    con.execute("CREATE TABLE activation.sync_status AS SELECT 'event' AS kind, 'pending' AS status, 5 AS items")
    con.execute("CREATE TABLE activation.old_report AS SELECT 1 AS x")
    con.close()
    publish_snapshot(warehouse, target, ["marts", "activation"])

    con = duckdb.connect(str(warehouse))
    con.execute("INSERT INTO marts.profiles VALUES (2)")  # rebuilt, not yet published by a build
    con.execute("CREATE OR REPLACE TABLE activation.sync_status AS SELECT 'event' AS kind, 'delivered' AS status, 5 AS items")
    con.execute("DROP TABLE activation.old_report")
    con.close()
    counts = publish_snapshot(warehouse, target, ["activation"], replace_only=True)

    assert counts == {"activation.sync_status": 1}
    after = duckdb.connect(str(target), read_only=True)
    try:
        assert after.execute("SELECT status FROM activation.sync_status").fetchall() == [("delivered",)]
        assert after.execute("SELECT user_id FROM marts.profiles").fetchall() == [(1,)]
        assert after.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'profiles'").fetchone()[0] == \
            "the app user id"
        assert after.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'activation'").fetchall() == \
            [("sync_status",)]
        version = after.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                                "WHERE database_name = current_database()").fetchone()[0]
        assert version.rstrip("+") == SNAPSHOT_STORAGE_VERSION
    finally:
        after.close()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".wal"))] == []


def test_dbt_descriptions_comment_a_snapshot_of_relations_without_comments(tmp_path, dbt_manifest):
    """On Spark the warehouse's relations are views over Spark's files, without comments: the snapshot takes the
    descriptions from dbt's manifest, for the columns it keeps, and the warehouse's own comments stay."""
    import json

    import duckdb

    from ingestion.warehouse import ensure_audit_tables, publish_snapshot
    from publishing.dbt_descriptions import model_descriptions, view_models

    manifest = json.loads(dbt_manifest.read_text())
    described = model_descriptions(manifest)["marts.customerio_people"]
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ensure_audit_tables(con)
    con.execute("COMMENT ON COLUMN audit.quarantine.reason IS 'stable code'")
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE VIEW marts.customerio_people AS SELECT 1 AS brand_id, 2 AS user_id, 'user-2' AS person_id")
    # On Spark a dbt view the Python stages read has its rows as files, so the connection has a view of it too.
    con.execute("CREATE VIEW marts.customerio_events AS SELECT 1 AS brand_id, 'app:e1' AS event_key")
    publish_snapshot(warehouse, tmp_path / "analytics.duckdb", ["marts", "audit"], con=con, views_as_tables=True,
                     descriptions={"marts.customerio_people": described}, excluded=view_models(manifest))
    con.close()

    snapshot = duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True)
    try:
        table = snapshot.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'customerio_people'").fetchone()[0]
        columns = dict(snapshot.execute("""SELECT column_name, comment FROM duckdb_columns()
            WHERE table_name = 'customerio_people' AND comment IS NOT NULL""").fetchall())
        audit = snapshot.execute("""SELECT comment FROM duckdb_columns()
            WHERE table_name = 'quarantine' AND column_name = 'reason'""").fetchone()[0]
        marts = snapshot.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
    finally:
        snapshot.close()
    assert table == described.table and table
    assert columns == {c: described.columns[c] for c in ("brand_id", "user_id", "person_id")}
    assert audit == "stable code"
    assert marts == [("customerio_people",)]  # dbt's views are not copied, on Spark as on DuckDB
