"""The incremental paths: a next day of data on top of a built warehouse gives what a build from scratch gives.

One generated landing zone is built, then the generator appends a day (new files in a new dt= folder, late
files for older days, new members, anonymous visitors who sign up with their old cookie, erasure requests)
and the warehouse is built again incrementally. A second warehouse is built from scratch on the final landing
zone. Every mart must be equal row for row, and each thing an incremental model could get wrong is checked.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pytest

from erasure.redact import PROFILE_AGGREGATES
from ingestion.paths import DATA_DIR_ENV, DataPaths
from ingestion.reconcile import reconcile
from ingestion.sources import ALL_SOURCES

# Builds the whole pipeline: deselected by the quick run (scripts/test -m "not slow").
pytestmark = pytest.mark.slow
# The builds fixture (tests/conftest.py) builds the landing zone, appends a day and builds it again.
# Stamped with the build that computed them, by design: a completion's detection time, the merge history (a build
# from scratch has merged nothing), and the resolution a timeline row was written under.
RUN_STAMPED = {"achievement_completions": ["detected_at", "detected_by_invocation"], "profiles": ["merged_profiles"],
               "profile_journey": ["resolution"], "profile_channel_stats": ["resolution"],
               "prediction_history": ["exports_loaded_at"]}
# The tables kept per event or per profile across builds, whose rows carry the identity resolution they were written
# under (PROFILE_AGGREGATES: erasure's list of the tables kept per profile).
FOLLOW_RESOLUTION = ("int_identity__profile_events", "profile_journey", "int_achievements__qualifying_events",
                     *(t.split(".")[1] for t in PROFILE_AGGREGATES))
ENGAGEMENT = "intermediate.int_features__engagement_by_profile"
# What says when a kept row was written, which a build from scratch writes anew: the resolution, and the as-of time
# the engagement window ended at.
WRITTEN_WHEN = {"int_features__engagement_by_profile": ("resolution", "window_ends_at"),
                "prediction_history": ("exports_loaded_at",)}


def unstamped(table: str) -> str:
    """The columns of `table` (schema.name) that do not say when a row was written."""
    name = table.split(".")[-1]
    stamps = WRITTEN_WHEN.get(name, ("resolution",) if name in FOLLOW_RESOLUTION else ())
    return f"* EXCLUDE ({', '.join(stamps)})" if stamps else "*"


def query(paths: DataPaths, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_every_mart_equals_a_build_from_scratch(builds):
    incremental, scratch, _ = builds
    marts = [t for (t,) in query(scratch, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1")]
    assert len(marts) >= 10
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{scratch.warehouse}' AS scratch (READ_ONLY)")
        for table in marts:
            stamped = RUN_STAMPED.get(table, [])
            columns = "* EXCLUDE (" + ", ".join(stamped) + ")" if stamped else "*"
            only_incremental, only_scratch = con.execute(f"""
                SELECT (SELECT count(*) FROM (SELECT {columns} FROM marts.{table} EXCEPT ALL
                                              SELECT {columns} FROM scratch.marts.{table})),
                       (SELECT count(*) FROM (SELECT {columns} FROM scratch.marts.{table} EXCEPT ALL
                                              SELECT {columns} FROM marts.{table}))""").fetchone()
            assert (table, only_incremental, only_scratch) == (table, 0, 0)


def test_late_files_for_old_days_and_the_new_day_are_loaded_once(builds):
    incremental, _, seen = builds
    expected = json.loads((incremental.ground_truth / "expected.json").read_text())
    appended = seen["appended"]
    assert appended["late_events"] > 0
    late_folders = {p.parent.name for p in (incremental.landing / "app/action_logs").rglob("events-1000.*")}
    assert late_folders & seen["before"]["days"], "some of the day's files landed in folders loaded before"
    loaded = query(incremental, "SELECT count(*), count(DISTINCT (brand_id, event_id)) FROM raw.app_action_logs")[0]
    assert loaded[0] == loaded[1] == expected["action_log_events_expected_loaded"]
    # Staging holds them all but the erased members' (their raw rows keep only their keys).
    events = query(incremental, "SELECT count(*), count(DISTINCT (brand_id, event_id)) FROM staging.stg_app__action_logs")[0]
    redacted = query(incremental, "SELECT count(*) FROM raw.app_action_logs WHERE _erased_at IS NOT NULL")[0][0]
    assert events[0] == events[1] == loaded[0] - redacted
    assert events[0] > seen["before"]["events"]


def test_a_member_erased_after_their_events_were_loaded_leaves_every_mart(builds):
    incremental, _, seen = builds
    # Members erased by the appended day: the incremental build resolved them once more, then redacted them.
    erased = query(incremental, "SELECT brand_id, user_id, profile_id FROM identity.erasures WHERE profile_id IS NOT NULL")
    users = [u for _, u, _ in erased]
    profiles = [p for _, _, p in erased]
    late = set(profiles) & set(seen["before"]["profile_of"].values())
    assert late, "an erasure request loaded after the member's events were"
    for table, column, ids in (("member_features", "user_id", users), ("member_card_documents", "user_id", users),
                               ("customerio_people", "user_id", users), ("profiles", "profile_id", profiles),
                               ("profile_journey", "profile_id", profiles), ("achievement_progress", "profile_id", profiles)):
        assert query(incremental, f"SELECT count(*) FROM marts.{table} WHERE {column} IN (SELECT unnest(?))", [ids]) \
            == [(0,)], table


def test_an_erased_member_is_gone_from_every_table_and_view_of_the_warehouse(builds):
    """Raw, staging, intermediate, identity and audit tables included: no identifier the erased members were
    given by the generator (shared ones aside) is left anywhere, while every ingested row is still counted."""
    incremental, scratch, _ = builds
    truth = incremental.ground_truth
    for paths in (incremental, scratch):
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            erased_values = [v for (v,) in con.execute(f"""
                WITH erased AS (SELECT DISTINCT brand_id, user_id FROM raw.app_erasure_requests),
                persons AS (
                    SELECT i.person_id FROM read_parquet('{truth}/identifiers.parquet') AS i JOIN erased AS e
                        ON i.brand_id = e.brand_id AND i.id_type = 'user_id' AND i.value = CAST(e.user_id AS VARCHAR))
                SELECT DISTINCT lower(value) FROM read_parquet('{truth}/identifiers.parquet')
                WHERE person_id IN (SELECT person_id FROM persons) AND NOT is_shared AND length(value) >= 6
                    AND id_type NOT IN ('user_id', 'card_last4')""").fetchall()]
            assert len(erased_values) >= 5
            columns = con.execute("""SELECT schema_name, table_name, column_name FROM duckdb_columns()
                WHERE database_name = current_database() AND NOT internal AND data_type IN ('VARCHAR', 'JSON')""").fetchall()
            assert len({(s, t) for s, t, _ in columns}) > 60
            found = [(s, t, c) for s, t, c in columns if con.execute(
                f"""SELECT count(*) FROM "{s}"."{t}" AS scanned WHERE EXISTS (SELECT 1 FROM unnest(?) AS v(erased_value)
                    WHERE contains(lower(CAST(scanned."{c}" AS VARCHAR)), v.erased_value))""", [erased_values]).fetchone()[0]]
            assert found == []
            redacted, left = con.execute("""SELECT count(*) FILTER (WHERE _erased_at IS NOT NULL),
                count(*) FILTER (WHERE _erased_at IS NULL AND (brand_id, user_id) IN (SELECT (brand_id, user_id)
                    FROM raw.app_erasure_requests)) FROM raw.app_action_logs""").fetchone()
            assert redacted > 0 and left == 0
            assert {s.name: reconcile(con, s) for s in ALL_SOURCES} == {s.name: [] for s in ALL_SOURCES}


def test_an_identity_merge_moves_old_events_to_the_surviving_profile(builds):
    incremental, _, seen = builds
    assert seen["appended"]["anonymous_logins"] > 0
    # Events that existed before the new day and now belong to another profile: the anonymous visitors who
    # turned out to be an existing (older) member; the member's profile id survives.
    before = pa.table({"record_id": list(seen["before"]["profile_of"]),
                       "profile_id": list(seen["before"]["profile_of"].values())})
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        con.register("before", before)
        moved = con.execute("""SELECT r.record_id, b.profile_id FROM identity.record_profiles AS r
            JOIN before AS b USING (record_id) WHERE r.source = 'action_log' AND r.profile_id <> b.profile_id
            ORDER BY 1""").fetchall()
    assert moved, "the appended day merged an earlier profile"
    for event, old in moved[:20]:
        [(now, member)] = query(incremental, """SELECT j.profile_id, p.is_member FROM marts.profile_journey AS j
            JOIN marts.profiles AS p USING (profile_id) WHERE j.event_id = ?""", [event])
        assert now != old and member
        assert query(incremental, "SELECT count(*) FROM marts.profile_journey WHERE profile_id = ?", [old]) == [(0,)]
        assert query(incremental, "SELECT count(*) FROM identity.profile_merges WHERE merged_profile_id = ? "
                                  "AND profile_id = ?", [old, now]) == [(1,)]


def test_the_events_a_merge_moved_are_rewritten_and_the_rest_kept(builds):
    """int_identity__profile_events follows identity resolution's change log: the incremental build appended the new
    day's events and rewrote the events whose record another profile took, kept every other row as it was, and
    ends equal to the build from scratch."""
    incremental, scratch, seen = builds
    events = "SELECT * EXCLUDE (resolution) FROM {}intermediate.int_identity__profile_events"
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{scratch.warehouse}' AS scratch (READ_ONLY)")
        differences = con.execute(f"""
            SELECT (SELECT count(*) FROM ({events.format('')} EXCEPT ALL {events.format('scratch.')})),
                   (SELECT count(*) FROM ({events.format('scratch.')} EXCEPT ALL {events.format('')}))""").fetchone()
        assert differences == (0, 0)
        [(latest, moved, rewritten, kept, new_files)] = con.execute("""
            WITH latest AS (SELECT max(resolution) AS resolution FROM identity.record_profile_changes),
            moved AS (SELECT brand_id, record_id AS event_id FROM identity.record_profile_changes
                      WHERE source = 'action_log' AND resolution = (SELECT resolution FROM latest)
                          AND previous_profile_id IS NOT NULL)
            SELECT (SELECT resolution FROM latest), (SELECT count(*) FROM moved),
                count(*) FILTER (WHERE e.resolution = (SELECT resolution FROM latest)
                                 AND (e.brand_id, e.event_id) IN (SELECT (brand_id, event_id) FROM moved)),
                count(*) FILTER (WHERE e.resolution < (SELECT resolution FROM latest)),
                count(DISTINCT e.source_file_id) FILTER (WHERE e.resolution = (SELECT resolution FROM latest)
                    AND (e.brand_id, e.event_id) NOT IN (SELECT (brand_id, event_id) FROM moved))
            FROM intermediate.int_identity__profile_events AS e""").fetchall()
    # The first build's resolution logged nothing (nothing was built before it); the second logged the day's changes.
    assert latest == 2
    assert moved > 0 and rewritten == moved, "every moved event was written again by the incremental build"
    assert kept > 0.8 * seen["before"]["events"], "the rows of unchanged records were kept, not rewritten"
    day_files = len(list((incremental.landing / "app/action_logs").rglob("events-1000.*")))
    assert new_files == day_files > 0, "the other rows the incremental build wrote are the new day's files' events"


def test_timelines_are_kept_up_to_their_first_change_and_the_rest_appended(builds):
    """profile_journey follows the events: the incremental build kept each profile's timeline up to its first change
    (an event that arrived in it or left it) and wrote the rest, numbered on from the kept steps, so the new day's
    events mostly extended timelines and most rows stayed as they were."""
    incremental, _, _ = builds
    [(latest, kept, written, written_before_kept, arrived, arrived_written, moved)] = query(incremental, """
        WITH latest AS (SELECT max(resolution) AS r FROM marts.profile_journey),
        timelines AS (
            SELECT profile_id, max(step) FILTER (WHERE resolution < (SELECT r FROM latest)) AS last_kept,
                min(step) FILTER (WHERE resolution = (SELECT r FROM latest)) AS first_written
            FROM marts.profile_journey GROUP BY profile_id),
        arrived AS (SELECT profile_id, event_id FROM intermediate.int_identity__profile_events
                    WHERE resolution = (SELECT r FROM latest) AND profile_id IS NOT NULL)
        SELECT (SELECT r FROM latest),
            count(*) FILTER (WHERE j.resolution < (SELECT r FROM latest)),
            count(*) FILTER (WHERE j.resolution = (SELECT r FROM latest)),
            (SELECT count(*) FROM timelines WHERE last_kept >= first_written),
            (SELECT count(*) FROM arrived),
            count(*) FILTER (WHERE j.resolution = (SELECT r FROM latest)
                             AND (j.profile_id, j.event_id) IN (SELECT (profile_id, event_id) FROM arrived)),
            (SELECT count(*) FROM identity.record_profile_changes WHERE source = 'action_log'
                AND previous_profile_id IS NOT NULL AND resolution = (SELECT r FROM latest))
        FROM marts.profile_journey AS j""")
    assert latest == 2 and moved > 0, "the appended day moved events from one profile to another"
    assert written_before_kept == 0, "every timeline kept a beginning and wrote its end"
    assert arrived > 0 and arrived_written == arrived, "each event new to a timeline (moved or new) was written there"
    assert written < kept, (written, kept)


def journey_differences(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Rows of profile_journey and of every profile's events in order (what the timeline is) that the other lacks."""
    expected = """SELECT e.profile_id, e.brand_id,
            row_number() OVER (PARTITION BY e.profile_id ORDER BY e.occurred_at, e.event_id) AS step,
            e.event_id, e.occurred_at, e.matched_by, e.product_id, p.product_name, p.product_form
        FROM intermediate.int_identity__profile_events AS e LEFT JOIN staging.stg_app__products AS p USING (product_id)
        WHERE e.profile_id IS NOT NULL"""
    journey = """SELECT profile_id, brand_id, step, event_id, occurred_at, matched_by, product_id, product_name,
        product_form FROM marts.profile_journey"""
    return con.execute(f"""SELECT (SELECT count(*) FROM ({journey} EXCEPT ALL {expected})),
        (SELECT count(*) FROM ({expected} EXCEPT ALL {journey}))""").fetchone()


def test_a_timeline_with_a_hole_or_a_renamed_product_is_written_again_from_there(builds, tmp_path):
    """An event erased inside a timeline that remains leaves a hole in its steps, and a product renamed leaves its
    old name on kept rows: the next build writes those timelines again from there, and keeps the others."""
    from tests.orchestration.build import build_all

    incremental, _, _ = builds
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(incremental.root, paths.root)
    with duckdb.connect(str(paths.warehouse)) as con:
        holed, hole_event, renamed, renamed_event = con.execute("""
            WITH long AS (SELECT profile_id FROM marts.profile_journey GROUP BY 1 HAVING count(*) >= 5 ORDER BY 1 LIMIT 2)
            SELECT (SELECT min(profile_id) FROM long),
                (SELECT event_id FROM marts.profile_journey WHERE profile_id = (SELECT min(profile_id) FROM long) AND step = 2),
                (SELECT max(profile_id) FROM long),
                (SELECT min(event_id) FROM marts.profile_journey WHERE profile_id = (SELECT max(profile_id) FROM long)
                    AND product_id IS NOT NULL AND step > 1)""").fetchone()
        assert renamed_event is not None
        holed_steps = con.execute("SELECT count(*) FROM marts.profile_journey WHERE profile_id = ?", [holed]).fetchone()[0]
        for table in ("marts.profile_journey", "intermediate.int_identity__profile_events"):
            con.execute(f"DELETE FROM {table} WHERE profile_id = ? AND event_id = ?", [holed, hole_event])
        con.execute("UPDATE marts.profile_journey SET product_name = 'renamed since' WHERE profile_id = ? AND event_id = ?",
                    [renamed, renamed_event])
        con.execute("CREATE TABLE untouched AS SELECT * FROM marts.profile_journey WHERE profile_id NOT IN (?, ?)",
                    [holed, renamed])
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
        assert build_all(paths).success
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        assert journey_differences(con) == (0, 0)
        assert con.execute("SELECT count(*), max(step) FROM marts.profile_journey WHERE profile_id = ?",
                           [holed]).fetchone() == (holed_steps - 1, holed_steps - 1)
        assert con.execute("SELECT count(*) FROM marts.profile_journey WHERE product_name = 'renamed since'").fetchone() == (0,)
        assert con.execute("""SELECT count(*) FROM (SELECT * FROM untouched EXCEPT ALL SELECT * FROM marts.profile_journey
            WHERE profile_id NOT IN (?, ?))""", [holed, renamed]).fetchone() == (0,), "the other timelines were kept as they were"


def test_events_last_written_before_the_kept_changes_are_rebuilt_whole(builds, tmp_path):
    """When the changes since the table's last resolution are no longer all kept, the next build writes every event
    again, each with the profile identity resolution gives its record now; every profile's timeline is written again
    when its last resolution is later than the events' (the resolutions were numbered anew)."""
    from tests.orchestration.build import build_all

    incremental, _, _ = builds
    paths = DataPaths(tmp_path / "data")
    shutil.copytree(incremental.root, paths.root)
    with duckdb.connect(str(paths.warehouse)) as con:  # as if the table was last built long ago
        con.execute("UPDATE intermediate.int_identity__profile_events SET resolution = 0")
        # The timelines as if they had applied a resolution numbered before the ones there are now.
        con.execute("UPDATE marts.profile_journey SET resolution = 99")
        con.execute("UPDATE identity.resolutions SET changes_kept = false")
        con.execute("DELETE FROM identity.record_profile_changes")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
        assert build_all(paths).success
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        written, latest = con.execute("""SELECT list(DISTINCT resolution), (SELECT max(resolution) FROM identity.resolutions)
            FROM intermediate.int_identity__profile_events""").fetchone()
        assert written == [latest]
        expected = """SELECT a.event_id, a.brand_id, rp.profile_id, rp.matched_by FROM staging.stg_app__action_logs AS a
            LEFT JOIN identity.record_profiles AS rp ON rp.source = 'action_log' AND rp.brand_id = a.brand_id
                AND rp.record_id = a.event_id
            WHERE rp.profile_id IS NULL OR rp.profile_id NOT IN (SELECT profile_id FROM identity.erasures WHERE profile_id IS NOT NULL)"""
        events = "SELECT event_id, brand_id, profile_id, matched_by FROM intermediate.int_identity__profile_events"
        assert con.execute(f"""SELECT (SELECT count(*) FROM ({events} EXCEPT ALL {expected})),
            (SELECT count(*) FROM ({expected} EXCEPT ALL {events}))""").fetchone() == (0, 0)
        assert con.execute("SELECT list(DISTINCT resolution) FROM marts.profile_journey").fetchone()[0] == [latest]
        assert journey_differences(con) == (0, 0)


QUALIFYING = "intermediate.int_achievements__qualifying_events"


def test_qualifying_events_keep_the_unchanged_rows_and_write_the_moved_and_new(builds):
    """int_achievements__qualifying_events follows the events table: the incremental build kept the rows of the events
    and members that did not change, wrote the new day's and the moved events' rows, and ends equal to the build
    from scratch."""
    incremental, scratch, _ = builds
    rows = f"SELECT * EXCLUDE (resolution) FROM {{}}{QUALIFYING}"
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{scratch.warehouse}' AS scratch (READ_ONLY)")
        assert con.execute(f"""
            SELECT (SELECT count(*) FROM ({rows.format('')} EXCEPT ALL {rows.format('scratch.')})),
                   (SELECT count(*) FROM ({rows.format('scratch.')} EXCEPT ALL {rows.format('')}))""").fetchone() == (0, 0)
        [(latest, kept, written, day_written, other_written)] = con.execute(f"""
            WITH latest AS (SELECT max(resolution) AS r FROM {QUALIFYING}),
            day AS (SELECT brand_id, event_id FROM intermediate.int_identity__profile_events
                    WHERE resolution = (SELECT r FROM latest)),
            kept_members AS (SELECT DISTINCT profile_id, user_id FROM {QUALIFYING}
                             WHERE resolution < (SELECT r FROM latest))
            SELECT (SELECT r FROM latest),
                count(*) FILTER (WHERE q.resolution < (SELECT r FROM latest)),
                count(*) FILTER (WHERE q.resolution = (SELECT r FROM latest)),
                count(*) FILTER (WHERE q.resolution = (SELECT r FROM latest)
                                 AND (q.brand_id, q.event_id) IN (SELECT (brand_id, event_id) FROM day)),
                count(*) FILTER (WHERE q.resolution = (SELECT r FROM latest)
                                 AND (q.brand_id, q.event_id) NOT IN (SELECT (brand_id, event_id) FROM day)
                                 AND (q.profile_id, q.user_id) IN (SELECT (profile_id, user_id) FROM kept_members))
            FROM {QUALIFYING} AS q""").fetchall()
    assert latest == 2
    assert day_written > 0, "the actions the events table wrote (the new day's, the moved ones) were written"
    assert other_written == 0, "other actions were written only for members the table held no row of"
    assert written < kept / 4, (written, kept)


def qualifying_differences(con: duckdb.DuckDBPyConnection, expected: str) -> tuple[int, int]:
    return row_differences(con, QUALIFYING, expected)


def row_differences(con: duckdb.DuckDBPyConnection, table: str, expected: str) -> tuple[int, int]:
    """Rows of `table` that `expected` lacks and the other way round, what says when each was written aside."""
    columns = unstamped(table)
    return con.execute(f"""SELECT (SELECT count(*) FROM (SELECT {columns} FROM {table} EXCEPT ALL SELECT {columns} FROM {expected})),
        (SELECT count(*) FROM (SELECT {columns} FROM {expected} EXCEPT ALL SELECT {columns} FROM {table}))""").fetchone()


def refreshed_differences(warehouse: Path, target: Path, table: str = QUALIFYING, options: tuple[str, ...] = ()
                          ) -> tuple[int, int]:
    """row_differences() of the warehouse's table and a full refresh of it (with dbt `options`) on a copy of the
    warehouse."""
    from tests.identity.test_blocklist_patterns import dbt

    refreshed = warehouse.with_name("refreshed.duckdb")
    shutil.copy(warehouse, refreshed)
    dbt(["run", "--full-refresh", "--select", table.split(".")[1], *options], refreshed, target)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{refreshed}' AS refreshed (READ_ONLY)")
        return row_differences(con, table, f"refreshed.{table}")


def test_qualifying_events_are_written_again_where_a_member_or_the_achievement_inputs_changed(builds, tmp_path):
    """Rows of a member the table no longer holds, of a profile whose user changed, or after the as-of time: the
    next build writes or forgets just those and keeps the rest. A product renamed (or any achievement input changed)
    writes every row again, as a full refresh does."""
    from tests.identity.test_blocklist_patterns import dbt

    incremental, _, _ = builds
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    shutil.copy(incremental.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"CREATE TABLE expected AS SELECT * FROM {QUALIFYING}")
        dropped, moved = [p for (p,) in con.execute(f"""SELECT profile_id FROM {QUALIFYING} GROUP BY 1
            HAVING count(*) >= 3 AND count(DISTINCT user_id) = 1 ORDER BY 1 LIMIT 2""").fetchall()]
        con.execute(f"DELETE FROM {QUALIFYING} WHERE profile_id = ?", [dropped])
        con.execute(f"UPDATE {QUALIFYING} SET user_id = -1 WHERE profile_id = ?", [moved])
        con.execute(f"""INSERT INTO {QUALIFYING} SELECT * REPLACE ('after the as-of time' AS event_id,
            occurred_at + INTERVAL 1 YEAR AS occurred_at) FROM {QUALIFYING} LIMIT 1""")
        con.execute(f"CREATE TABLE untouched AS SELECT * FROM {QUALIFYING} WHERE profile_id NOT IN (?, ?) "
                    "AND event_id <> 'after the as-of time'", [dropped, moved])
    dbt(["run", "--select", "int_achievements__qualifying_events"], warehouse, target)
    with duckdb.connect(str(warehouse)) as con:
        assert qualifying_differences(con, "expected") == (0, 0)
        assert con.execute(f"""SELECT count(*) FROM (SELECT * FROM untouched EXCEPT ALL SELECT * FROM {QUALIFYING}
            WHERE profile_id NOT IN (?, ?))""", [dropped, moved]).fetchone() == (0,), "the other rows were kept as they were"
        [(product, old_line)] = con.execute(f"""SELECT p.id, p.product_line FROM raw.app_products AS p
            JOIN intermediate.int_identity__profile_events AS e ON e.product_id = p.id
            JOIN {QUALIFYING} AS q ON q.brand_id = e.brand_id AND q.event_id = e.event_id
            WHERE q.field_value = p.product_line
            ORDER BY 1 LIMIT 1""").fetchall()
        con.execute("UPDATE raw.app_products SET product_line = 'renamed since' WHERE id = ?", [product])
        digest = con.execute(f"SELECT list(DISTINCT inputs_digest) FROM {QUALIFYING}").fetchone()[0]
    dbt(["run", "--select", "int_achievements__qualifying_events"], warehouse, target)
    assert refreshed_differences(warehouse, target) == (0, 0)
    with duckdb.connect(str(warehouse)) as con:
        [(digests, renamed, old)] = con.execute(f"""SELECT list(DISTINCT inputs_digest),
            count(*) FILTER (WHERE field_value = 'renamed since'), count(*) FILTER (WHERE field_value = ?)
            FROM {QUALIFYING}""", [old_line]).fetchall()
        assert len(digests) == 1 and digests != digest and renamed > 0, "every row was written under the new inputs"
        assert con.execute(f"""SELECT count(*) FROM {QUALIFYING} AS q JOIN intermediate.int_identity__profile_events AS e
            USING (brand_id, event_id) WHERE e.product_id = ? AND q.field_value = ?""", [product, old_line]).fetchone() == (0,)


def test_an_event_leaving_a_profile_that_remains_and_a_profile_of_two_users(builds, tmp_path):
    """A resolution that moves one action from a member's profile to another member's, and gives that profile a second
    user (user_id identifiers of one brand stitched together): the profile left behind keeps its other rows as they
    were, the action is written under the profile it moved to, once for each of its users, the second user gets
    every action of the profile, the second user's old profile leaves, and the table equals a full refresh."""
    from tests.identity.test_blocklist_patterns import dbt

    incremental, _, _ = builds
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    shutil.copy(incremental.warehouse, warehouse)
    single_user_members = f"""SELECT q.brand_id, q.profile_id, any_value(q.user_id) AS user_id, count(*) AS actions
        FROM {QUALIFYING} AS q GROUP BY 1, 2 HAVING count(DISTINCT q.user_id) = 1 AND count(*) >= 2"""
    with duckdb.connect(str(warehouse)) as con:
        [(brand, left, _), (_, arrived, first_user), (_, merged, second_user)] = con.execute(f"""
            WITH m AS ({single_user_members}),
            brand AS (SELECT brand_id FROM m GROUP BY 1 HAVING count(*) >= 3 ORDER BY 1 LIMIT 1)
            SELECT brand_id, profile_id, user_id FROM m WHERE brand_id = (SELECT brand_id FROM brand)
            ORDER BY profile_id LIMIT 3""").fetchall()
        [(moved,)] = con.execute(f"SELECT min(event_id) FROM {QUALIFYING} WHERE profile_id = ?", [left]).fetchall()
        resolution = con.execute("SELECT max(resolution) + 1 FROM intermediate.int_identity__profile_events").fetchone()[0]
        con.execute("UPDATE intermediate.int_identity__profile_events SET profile_id = ?, resolution = ? "
                    "WHERE brand_id = ? AND event_id = ?", [arrived, resolution, brand, moved])
        con.execute("UPDATE identity.identifier_profiles SET profile_id = ? WHERE brand_id = ? AND id_type = 'user_id' "
                    "AND value = ?", [arrived, brand, str(second_user)])
        con.execute(f"CREATE TABLE kept AS SELECT * FROM {QUALIFYING} WHERE profile_id = ? AND event_id <> ?", [left, moved])
    dbt(["run", "--select", "int_features__members", "int_achievements__qualifying_events"], warehouse, target)
    assert refreshed_differences(warehouse, target) == (0, 0)
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute(f"SELECT * FROM {QUALIFYING} WHERE profile_id = ? ORDER BY ALL", [left]).fetchall() == \
            con.execute("SELECT * FROM kept ORDER BY ALL").fetchall(), "the profile left behind kept its other rows"
        assert con.execute("SELECT count(*) FROM kept").fetchone()[0] > 0
        # One row per achievement the action counts towards, for each user of the profile it moved to.
        rows_per_user = dict(con.execute(f"""SELECT user_id, count(*) FROM {QUALIFYING} WHERE event_id = ? AND brand_id = ?
            GROUP BY 1""", [moved, brand]).fetchall())
        assert set(rows_per_user) == {first_user, second_user}
        assert rows_per_user[first_user] == rows_per_user[second_user] > 0
        assert con.execute(f"""SELECT count(*) FROM (SELECT event_id FROM {QUALIFYING} WHERE profile_id = ? AND user_id = ?
            EXCEPT ALL SELECT event_id FROM {QUALIFYING} WHERE profile_id = ? AND user_id = ?)""",
            [arrived, first_user, arrived, second_user]).fetchone() == (0,), "the second user has every action"
        assert con.execute(f"SELECT count(*) FROM {QUALIFYING} WHERE profile_id = ?", [merged]).fetchone() == (0,)


def test_aggregates_per_profile_are_computed_again_for_the_profiles_whose_events_changed(builds):
    """The tables of aggregates per profile (macros/profile_aggregates.sql) equal the build from scratch; the
    incremental build wrote the profiles the new day's or moved events belong to or left, and those new to the
    table, and kept every other profile's rows."""
    incremental, scratch, seen = builds
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{scratch.warehouse}' AS scratch (READ_ONLY)")
        for table in PROFILE_AGGREGATES:
            assert (table, *row_differences(con, table, f"scratch.{table}")) == (table, 0, 0)
            latest = con.execute(f"SELECT max(resolution) FROM {table}").fetchone()[0]
            written, kept = ({p for (p,) in con.execute(f"SELECT DISTINCT profile_id FROM {table} WHERE resolution {op} ?",
                                                        [latest]).fetchall()} for op in ("=", "<"))
            changed = {p for (p,) in con.execute("""
                SELECT profile_id FROM intermediate.int_identity__profile_events WHERE resolution = ?
                UNION SELECT previous_profile_id FROM identity.record_profile_changes
                WHERE source = 'action_log' AND resolution = ?""", [latest, latest]).fetchall()}
            new = written - seen["before"]["aggregated"][table]
            # No action leaves the engagement window here (22 days of data, a 90-day window): every profile written
            # is changed or new. test_engagement_follows_its_window_as_the_as_of_time_moves moves the window.
            assert written and kept and not written & kept, table
            assert written - changed <= new, (table, "written, yet neither changed nor new")
            assert not kept & changed, (table, "changed, yet kept")


def test_aggregates_per_profile_follow_a_moved_event_a_changed_signup_and_their_other_inputs(builds, tmp_path):
    """An action moved from one member's profile to another's, a member whose sign-up time changed, a profile whose
    rows are missing: the next build writes those profiles again, keeps every other row as it was, and equals a full
    refresh. A product's category or price changed writes every row again."""
    from tests.identity.test_blocklist_patterns import dbt

    incremental, _, _ = builds
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    shutil.copy(incremental.warehouse, warehouse)
    models = ["int_features__members", "int_customer_360__purchases", *(t.split(".")[1] for t in PROFILE_AGGREGATES)]
    with duckdb.connect(str(warehouse)) as con:
        [(brand, left, _), (_, arrived, _), (_, resigned, resigned_user), (_, dropped, _)] = con.execute("""
            WITH m AS (SELECT e.brand_id, e.profile_id, any_value(f.user_id) AS user_id
                       FROM intermediate.int_identity__profile_events AS e
                       JOIN intermediate.int_features__members AS f USING (profile_id)
                       WHERE e.action_type IN ('purchase', 'pos_transaction') GROUP BY 1, 2 HAVING count(*) >= 3),
            brand AS (SELECT brand_id FROM m GROUP BY 1 HAVING count(*) >= 4 ORDER BY 1 LIMIT 1)
            SELECT brand_id, profile_id, user_id FROM m WHERE brand_id = (SELECT brand_id FROM brand)
            ORDER BY profile_id LIMIT 4""").fetchall()
        changed = [left, arrived, resigned, dropped]
        [(moved,)] = con.execute("""SELECT min(event_id) FROM intermediate.int_identity__profile_events
            WHERE profile_id = ? AND action_type IN ('purchase', 'pos_transaction')""", [left]).fetchall()
        resolution = con.execute("SELECT max(resolution) + 1 FROM intermediate.int_identity__profile_events").fetchone()[0]
        con.execute("UPDATE intermediate.int_identity__profile_events SET profile_id = ?, resolution = ? "
                    "WHERE brand_id = ? AND event_id = ?", [arrived, resolution, brand, moved])
        con.execute("""INSERT INTO identity.record_profile_changes BY NAME SELECT ? AS resolution, 'action_log' AS source,
            ? AS brand_id, ? AS record_id, ? AS previous_profile_id, ? AS profile_id, 'user_id' AS matched_by""",
                    [resolution, brand, moved, left, arrived])
        con.execute("UPDATE raw.app_users SET created_at = created_at - INTERVAL 3 DAY WHERE brand_id = ? AND id = ?",
                    [brand, resigned_user])
        for table in PROFILE_AGGREGATES:
            con.execute(f"DELETE FROM {table} WHERE profile_id = ?", [dropped])
            con.execute(f"CREATE TABLE \"untouched {table}\" AS SELECT * FROM {table} WHERE profile_id NOT IN (SELECT unnest(?))",
                        [changed])
    dbt(["run", "--select", *models], warehouse, target)
    for table in PROFILE_AGGREGATES:
        assert (table, *refreshed_differences(warehouse, target, table)) == (table, 0, 0)
    with duckdb.connect(str(warehouse)) as con:
        for table in PROFILE_AGGREGATES:
            assert con.execute(f"""SELECT count(*) FROM (SELECT * FROM \"untouched {table}\" EXCEPT ALL SELECT * FROM {table}
                WHERE profile_id NOT IN (SELECT unnest(?)))""", [changed]).fetchone() == (0,), table
            # The sign-up is the member's days' concern only.
            written = changed if table.endswith("member_days") else [left, arrived, dropped]
            assert con.execute(f"SELECT list(DISTINCT resolution) FROM {table} WHERE profile_id IN (SELECT unnest(?))",
                               [written]).fetchone() == ([resolution],), table
        assert con.execute("SELECT resolution < ? FROM marts.profile_channel_stats WHERE profile_id = ?",
                           [resolution, resigned]).fetchone() == (True,)
        [(signup_day,)] = con.execute("""SELECT day FROM intermediate.int_kpis__member_days
            WHERE profile_id = ? AND is_signup_day""", [resigned]).fetchall()
        assert signup_day == con.execute("""SELECT CAST(timezone(b.timezone, u.created_at) AS DATE) FROM staging.stg_app__users
            AS u JOIN staging.stg_app__brands AS b USING (brand_id) WHERE u.brand_id = ? AND u.user_id = ?""",
                                         [brand, resigned_user]).fetchone()[0]
        digests = {t: con.execute(f"SELECT list(DISTINCT inputs_digest) FROM {t}").fetchone()[0] for t in PROFILE_AGGREGATES}
        con.execute("""UPDATE raw.app_products SET product_form = product_form || ' renamed', msrp = msrp + 1
            WHERE id = (SELECT min(product_id) FROM intermediate.int_customer_360__purchases
                        WHERE action_type = 'product_scanned')""")
    dbt(["run", "--select", *models], warehouse, target)
    for table in PROFILE_AGGREGATES:
        assert (table, *refreshed_differences(warehouse, target, table)) == (table, 0, 0)
    with duckdb.connect(str(warehouse)) as con:
        for table in PROFILE_AGGREGATES:
            [(digest, resolutions)] = con.execute(f"SELECT list(DISTINCT inputs_digest), list(DISTINCT resolution) FROM {table}").fetchall()
            assert len(digest) == 1 and digest != digests[table] and len(resolutions) == 1, "every row was written again"


PREDICTIONS = "marts.prediction_history"


def test_prediction_history_is_computed_again_for_the_profiles_whose_payloads_changed(builds, tmp_path):
    """A late webhook, a people export with a prediction the webhooks missed (and one loaded at the very time of the
    last export the table read), a member identity resolution moved to another profile, a profile whose rows are
    missing: the next build writes those profiles again, keeps every other row as it was, and equals a full refresh.
    A brand's time zone changed writes every row again."""
    from tests.identity.test_blocklist_patterns import dbt

    incremental, _, _ = builds
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    shutil.copy(incremental.warehouse, warehouse)
    models = ["int_features__members", "prediction_history"]
    with duckdb.connect(str(warehouse)) as con:
        # Five members alone in their profile, each with predictions on at least two days.
        [late, exported, same_load, moved, dropped] = con.execute(f"""
            SELECT h.profile_id, h.user_id FROM {PREDICTIONS} AS h
            WHERE h.profile_id IN (SELECT profile_id FROM intermediate.int_features__members GROUP BY 1 HAVING count(*) = 1)
            GROUP BY ALL HAVING count(*) >= 2 ORDER BY h.profile_id LIMIT 5""").fetchall()
        changed = [late[0], exported[0], same_load[0], moved[0], dropped[0]]
        [(exports_read,)] = con.execute(f"SELECT max(exports_loaded_at) FROM {PREDICTIONS}").fetchall()
        con.execute("""INSERT INTO staging.stg_customerio__prediction_webhooks SELECT * REPLACE ('late webhook' AS webhook_id,
            received_at - INTERVAL 20 DAY AS received_at, 0.91 AS churn_probability)
            FROM staging.stg_customerio__prediction_webhooks WHERE user_id = ? ORDER BY received_at LIMIT 1""", [late[1]])
        # Newer exports with a churn probability no webhook delivered: one loaded after the others, one loaded at the
        # time of the last export the table read.
        for member, days, loaded_later in ((exported, 30, "1 HOUR"), (same_load, 31, "0 HOUR")):
            con.execute(f"""INSERT INTO raw.customerio_exports SELECT * REPLACE (
                    json_object('churn_probability', '0.97') AS attributes, _extracted_at + INTERVAL {days} DAY AS _extracted_at,
                    _loaded_at + INTERVAL {loaded_later} AS _loaded_at, 0 AS _position, CAST(NULL AS TIMESTAMPTZ) AS _erased_at,
                    CAST(? AS VARCHAR) AS id, 'exported member' AS cio_id, 'exported member' AS person_key)
                FROM raw.customerio_exports WHERE _loaded_at = ? ORDER BY _position LIMIT 1""", [member[1], exports_read])
        export_days = dict(con.execute("""SELECT m.user_id, CAST(timezone(b.timezone, e._extracted_at) AS DATE)
            FROM raw.customerio_exports AS e JOIN intermediate.int_features__members AS m ON m.user_id = try_cast(e.id AS BIGINT)
            JOIN staging.stg_app__brands AS b USING (brand_id) WHERE e.person_key = 'exported member'""").fetchall())
        con.execute("UPDATE identity.identifier_profiles SET profile_id = 'prof_moved' WHERE profile_id = ?", [moved[0]])
        con.execute(f"DELETE FROM {PREDICTIONS} WHERE profile_id = ?", [dropped[0]])
        con.execute(f"CREATE TABLE untouched AS SELECT * FROM {PREDICTIONS} WHERE profile_id NOT IN (SELECT unnest(?))",
                    [changed])
    dbt(["run", "--select", *models], warehouse, target)
    assert refreshed_differences(warehouse, target, PREDICTIONS) == (0, 0)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(f"""SELECT count(*) FROM (SELECT * FROM untouched EXCEPT ALL SELECT * FROM {PREDICTIONS}
            WHERE profile_id NOT IN (SELECT unnest(?)))""", [changed]).fetchone() == (0,)
        # Written by this build: exactly the changed profiles' rows (the moved member's under its new profile).
        written = {p for (p,) in con.execute(f"SELECT DISTINCT profile_id FROM {PREDICTIONS} WHERE exports_loaded_at > ?",
                                             [exports_read]).fetchall()}
        assert written == {late[0], exported[0], same_load[0], "prof_moved", dropped[0]}
        assert con.execute(f"SELECT count(*) FROM {PREDICTIONS} WHERE profile_id = ?", [moved[0]]).fetchone() == (0,)
        assert con.execute(f"SELECT churn_probability FROM {PREDICTIONS} WHERE profile_id = ? ORDER BY prediction_date LIMIT 1",
                           [late[0]]).fetchone() == (0.91,)
        for member in (exported, same_load):
            assert con.execute(f"SELECT export_payloads, churn_probability FROM {PREDICTIONS} WHERE profile_id = ? "
                               "AND prediction_date = ?", [member[0], export_days[member[1]]]).fetchone() == (1, 0.97)
        [digest] = con.execute(f"SELECT list(DISTINCT inputs_digest) FROM {PREDICTIONS}").fetchone()
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE raw.app_brands SET timezone = 'Pacific/Auckland' WHERE id = (SELECT min(id) FROM raw.app_brands)")
    dbt(["run", "--select", "stg_app__brands", *models], warehouse, target)
    assert refreshed_differences(warehouse, target, PREDICTIONS) == (0, 0)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(digests, stamps)] = con.execute(f"SELECT list(DISTINCT inputs_digest), list(DISTINCT exports_loaded_at) FROM {PREDICTIONS}").fetchall()
    assert len(digests) == 1 and digests != digest and len(stamps) == 1, "every row was written again"


def test_engagement_follows_its_window_as_the_as_of_time_moves(builds, tmp_path):
    """With no event changed, the engagement window's aggregates are written again for the profiles with an action
    that entered the window or left it since the as-of time of the last build, and kept for every other profile; when
    the as-of time goes back, every row is written again. Each build equals a full refresh."""
    from tests.identity.test_blocklist_patterns import dbt

    incremental, _, _ = builds
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "target"
    shutil.copy(incremental.warehouse, warehouse)
    [(newest,)] = query(incremental, "SELECT max(occurred_at) FROM staging.stg_app__action_logs")

    def build(days_back: int) -> None:
        """Builds the table as of `days_back` days before the newest action, with a 5-day window, and compares it
        with a full refresh."""
        as_of = (newest - timedelta(days=days_back)).isoformat()
        options = ("--vars", json.dumps({"as_of": as_of, "engagement_window_days": 5}))
        dbt(["run", "--select", ENGAGEMENT.split(".")[1], *options], warehouse, target)
        assert refreshed_differences(warehouse, target, ENGAGEMENT, options) == (0, 0), days_back

    def values(sql: str, params: list) -> set:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return {p for (p,) in con.execute(sql, params).fetchall()}

    build(12)  # a window of another length, and an earlier as-of time: every row written again
    build(9)
    old_end, new_end = (newest - timedelta(days=d) for d in (12, 9))
    assert values(f"SELECT DISTINCT window_ends_at FROM {ENGAGEMENT}", []) == {old_end, new_end}
    moved = values("""SELECT profile_id FROM intermediate.int_identity__profile_events WHERE profile_id IS NOT NULL
        AND ((occurred_at > ? AND occurred_at <= ?) OR (occurred_at > ? - INTERVAL 5 DAY AND occurred_at <= ? - INTERVAL 5 DAY))""",
                     [old_end, new_end, old_end, new_end])
    written = values(f"SELECT profile_id FROM {ENGAGEMENT} WHERE window_ends_at = ?", [new_end])
    kept = values(f"SELECT profile_id FROM {ENGAGEMENT} WHERE window_ends_at = ?", [old_end])
    left = values(f"""SELECT profile_id FROM intermediate.int_identity__profile_events WHERE profile_id IS NOT NULL
        AND occurred_at > ? - INTERVAL 5 DAY AND occurred_at <= ? - INTERVAL 5 DAY
        EXCEPT SELECT profile_id FROM {ENGAGEMENT}""", [old_end, new_end])
    assert written and kept and left, "actions entered the window, left it, and some profiles had neither"
    assert written <= moved and not kept & moved
    build(10)  # back: every row written again
    assert values(f"SELECT DISTINCT window_ends_at FROM {ENGAGEMENT}", []) == {newest - timedelta(days=10)}


def test_a_full_refresh_rebuilds_what_the_increments_built_and_keeps_the_completion_feed(builds, tmp_path):
    """`synergy run --full-refresh` on the incrementally built warehouse gives what the next incremental build
    gives: the incremental models rebuilt from all their input and identity stitched whole, with the same
    result, while the completion feed is not rebuilt (its rows keep the build that first detected them, so
    nothing is awarded twice). Compared with a next build, not with the last one: a build after an erasure
    stitches the erased member's shared identifiers to the members who remain."""
    from tests.orchestration.build import build_all

    incremental, _, _ = builds
    built = {}
    for name, full_refresh in (("next", False), ("refreshed", True)):
        paths = DataPaths(tmp_path / name / "data")
        shutil.copytree(incremental.root, paths.root)
        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
            result = build_all(paths, full_refresh=full_refresh)
        assert result.success
        [built[name]] = [e.materialization.metadata["stitched"].value for e in result.get_asset_materialization_events()
                         if e.asset_key == dg.AssetKey(["identity", "identifier_profiles"])]
        built[f"{name} paths"] = paths
    assert built["refreshed"] == "asked to stitch everything" and built["next"] != built["refreshed"]
    compared = [("staging", "stg_app__action_logs"), ("intermediate", "int_identity__event_observations"),
                ("identity", "record_profiles"), ("identity", "identifier_profiles"), ("identity", "record_profile_changes"),
                ("intermediate", "int_identity__profile_events"), ("intermediate", "int_achievements__qualifying_events"),
                *[tuple(t.split(".")) for t in PROFILE_AGGREGATES if t.startswith("intermediate.")],
                *[("marts", t) for (t,) in query(incremental, "SELECT table_name FROM duckdb_tables() "
                                                              "WHERE schema_name = 'marts' ORDER BY 1")]]
    with duckdb.connect(str(built["refreshed paths"].warehouse), read_only=True) as con:
        con.execute(f"ATTACH '{built['next paths'].warehouse}' AS next (READ_ONLY)")
        con.execute(f"ATTACH '{incremental.warehouse}' AS before (READ_ONLY)")
        for schema, table in compared:
            # An event row's resolution says when it was last written: the refresh wrote every row again.
            rows = unstamped(table)
            differences = con.execute(f"""
                SELECT (SELECT count(*) FROM (SELECT {rows} FROM {schema}.{table} EXCEPT ALL SELECT {rows} FROM next.{schema}.{table})),
                       (SELECT count(*) FROM (SELECT {rows} FROM next.{schema}.{table} EXCEPT ALL SELECT {rows} FROM {schema}.{table}))
                """).fetchone()
            assert (table, *differences) == (table, 0, 0)
        feed = "SELECT * FROM {}marts.achievement_completions"
        assert con.execute(f"SELECT count(*) FROM ({feed.format('')} EXCEPT ALL {feed.format('before.')})").fetchone()[0] == 0
        # The parsed phones are a cache: the refresh parses the current extract's numbers again, to the same values.
        assert con.execute("""SELECT count(*) FROM intermediate.int_identity__phone_numbers AS p
            JOIN before.intermediate.int_identity__phone_numbers AS b USING (raw_value, brand_timezone)
            WHERE p.e164 IS DISTINCT FROM b.e164""").fetchone()[0] == 0


CARD_DOCUMENTS = "marts.member_card_documents"


def test_the_card_documents_view_builds_only_the_members_publishing_names(builds):
    incremental, _, _ = builds
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        every = {row[0]: row for row in con.execute(
            f"SELECT profile_id, inputs_digest, document::VARCHAR FROM {CARD_DOCUMENTS}").fetchall()}
        named = sorted(every)[::len(every) // 3][:3]
        con.execute("SET VARIABLE card_document_members = ?", [named])
        assert sorted(con.execute(f"SELECT profile_id, inputs_digest, document::VARCHAR FROM {CARD_DOCUMENTS}"
                                  ).fetchall()) == [every[profile] for profile in named]
        con.execute("SET VARIABLE card_document_members = []::VARCHAR[]")
        assert con.execute(f"SELECT count(*) FROM {CARD_DOCUMENTS}").fetchone()[0] == 0


def test_a_card_documents_inputs_digest_changes_with_what_the_document_shows_and_only_that(builds, tmp_path):
    """Publishing builds only the documents whose inputs digest moved, and then serves what the view builds."""
    from publishing.card_store import CardStoreReader
    from publishing.publish import publish_from_warehouse

    incremental, _, _ = builds
    copy, cards = tmp_path / "warehouse.duckdb", tmp_path / "cards"
    shutil.copy(incremental.warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        def documents():
            return {p: (d, json.loads(doc)) for p, d, doc in con.execute(
                f"SELECT profile_id, inputs_digest, document::VARCHAR FROM {CARD_DOCUMENTS}").fetchall()}

        first = publish_from_warehouse(con, cards, retention=timedelta(hours=1), definition="this project")
        assert first.built == first.members > 0
        before = documents()
        with_cards, with_achievements = (
            [p for (p,) in con.execute(f"SELECT DISTINCT profile_id FROM marts.{table} ORDER BY 1").fetchall()]
            for table in ("member_cards", "achievement_progress WHERE is_offered"))
        shown_card = with_cards[0]
        shown_progress, hidden = [p for p in with_achievements if p != shown_card][:2]
        con.execute("UPDATE marts.member_cards SET title = title || '!' WHERE profile_id = ? AND position = 1",
                    [shown_card])
        con.execute("UPDATE marts.achievement_progress SET current_value = current_value + 7 "
                    "WHERE profile_id = ? AND is_offered", [shown_progress])
        # Neither is in the document: a gate's score and the churn probability the card scores came from.
        con.execute("UPDATE marts.achievement_progress SET gate_score = coalesce(gate_score, 0) + 1 WHERE profile_id = ?",
                    [hidden])
        con.execute("UPDATE intermediate.int_cards__member_context SET churn_probability = 0.5 WHERE profile_id = ?",
                    [hidden])
        after = documents()
        second = publish_from_warehouse(con, cards, retention=timedelta(hours=1), definition="this project")
        keys = {p: (b, u) for p, b, u in con.execute(f"SELECT profile_id, brand_id, user_id FROM {CARD_DOCUMENTS}").fetchall()}
    moved = {p for p in before if before[p][0] != after[p][0]}
    rewritten = {p for p in before if {**before[p][1], "generated_at": 0} != {**after[p][1], "generated_at": 0}}
    assert moved == rewritten == {shown_card, shown_progress}
    assert (second.built, second.changed) == (2, 2)
    reader = CardStoreReader(cards)
    try:
        for profile, (_, document) in after.items():
            assert json.loads(reader.get(*keys[profile]).body()) == document
    finally:
        reader.close()
