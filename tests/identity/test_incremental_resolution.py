"""An incremental resolution gives exactly the tables a resolution of everything gives, whatever changed.

Two warehouses resolve the same first day; then the same change lands in both and one resolves incrementally,
the other stitches everything. Every identity table and the resolution state must be equal, row for row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pytest

from erasure.redact import DERIVED_ROWS
from identity.record_changes import KEPT_RESOLUTIONS
from identity.resolve import resolve
from tests.identity.links import add_observations, observation as o, profile_ids

NOW = datetime(2026, 11, 3, 6, 0, tzinfo=UTC)
TABLES = ["identity.identifier_profiles", "identity.record_profiles", "identity.record_profile_changes", "identity.resolutions",
          "identity.profile_merges",
          "identity.merge_review", "identity.rejected_links", "identity.resolution_records",
          "identity.resolution_components", "identity.resolution_profiles", "identity.resolution_settings",
          "identity.resolution_batches"]


def events(seed: int, day: int, count: int, members: int = 300, prefix: str = "") -> list[tuple]:
    """Events of `members` people: user ids, their devices and emails, shared cookies (merges), now and then a
    second user id (a rejected link) or four cookies at once (review), card last 4 digits (weak)."""
    rng = np.random.default_rng(seed * 100 + day)
    rows = []
    for k in range(count):
        m = int(rng.integers(members))
        record, at = f"{prefix}d{day}_{k}", f"2026-11-{day:02d} {int(rng.integers(24)):02d}:{int(rng.integers(60)):02d}:00+00"
        ids = []
        if rng.random() < 0.7:
            ids.append(("user_id", str(m)))
        if rng.random() < 0.6:
            ids.append(("device_id", f"dev_{m}_{int(rng.integers(2))}"))
        if rng.random() < 0.25:
            ids.append(("cookie_id", f"ck_{int(rng.integers(members * 2))}"))
        if rng.random() < 0.15:
            ids.append(("email", f"m{m}@x.com"))
        if rng.random() < 0.02:
            ids.append(("user_id", str(int(rng.integers(members)))))
        if rng.random() < 0.01:
            ids.extend(("cookie_id", f"ck_{int(rng.integers(members * 2))}") for _ in range(4))
        if rng.random() < 0.2:
            ids.append(("card_last4", f"{int(rng.integers(40)):04d}"))
        if not ids:
            ids.append(("cookie_id", f"ck_anon_{record}"))
        rows.extend(o(record, at, t, v) for t, v in dict.fromkeys(ids))
    return rows


def snapshot(path: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(con.execute(f"select * from {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        con.close()


def record_profiles(path: Path) -> dict[tuple, tuple]:
    """(source, brand_id, record_id) -> (profile_id, matched_by)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select source, brand_id, record_id, profile_id, matched_by from identity.record_profiles").fetchall()
    finally:
        con.close()
    return {row[:3]: row[3:] for row in rows}


def resolved(path: Path, **kwargs):
    con = duckdb.connect(str(path))
    try:
        return resolve(con, now=NOW, **kwargs)
    finally:
        con.close()


def execute(path: Path, *sql: str) -> None:
    con = duckdb.connect(str(path))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()


def drop_records(path: Path, where: str, replacement: list[tuple], *, relink: bool = True) -> None:
    """Remove observations (a record withdrawn or rewritten upstream), add `replacement`, rebuild the links: every
    event linked again, as the full refresh that alone rewrites old events does."""
    execute(path, f"delete from intermediate.int_identity__observations where {where}")
    add_observations(path, replacement, relink=relink)


def erase(path: Path, profiles: str, events: str | None = None) -> None:
    """What the erasure step does to the identity tables (its own DELETEs) for the erased `profiles` (a SELECT of
    profile ids) and the erased `events` (a SELECT of brand_id, event_id; by default the action-log records of those
    profiles), then the next build's observations without those records (their raw rows were redacted)."""
    con = duckdb.connect(str(path))
    try:
        con.execute(f"create temp table _erased_profiles as {profiles}")
        con.execute("""create temp table _erased_records as select source, brand_id, record_id from identity.record_profiles
            where profile_id in (select profile_id from _erased_profiles)""")
        con.execute("""create temp table _erased_identifiers as select brand_id, id_type, value from identity.identifier_profiles
            where links_profiles and profile_id in (select profile_id from _erased_profiles)""")
        con.execute(f"create temp table _erased_events as "
                    f"{events or 'select brand_id, record_id as event_id from _erased_records'}")
        con.execute("""create table erased_records as select source, brand_id, record_id from _erased_records
            union select 'action_log', brand_id, event_id from _erased_events""")
        for table, erased in DERIVED_ROWS.items():
            if table.startswith("identity.") or table == "intermediate.int_identity__event_links":
                con.execute(f"delete from {table} as d where {erased}")
    finally:
        con.close()
    drop_records(path, "record_id in (select record_id from erased_records)",
                 [o("after_erasure", "2026-11-02 23:00:00+00", "cookie_id", "ck_late")], relink=False)


def erase_profile_of(path: Path, user_id: str) -> None:
    erase(path, f"""select profile_id from identity.identifier_profiles
        where links_profiles and id_type = 'user_id' and value = '{user_id}'""")


def first_member_with_merges(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("""select value from identity.identifier_profiles where id_type = 'user_id'
            and profile_id in (select profile_id from identity.identifier_profiles where links_profiles
                               group by profile_id having count(*) > 3)
            order by value limit 1""").fetchall()[0][0]
    finally:
        con.close()


CHANGES = {
    "next day": lambda path, seed: add_observations(path, events(seed, 2, 600)),
    "late events for the first day": lambda path, seed: add_observations(path, events(seed, 1, 80, prefix="late_")),
    "records rewritten upstream": lambda path, seed: drop_records(
        path, "record_id in ('d1_3', 'd1_10', 'd1_20', 'd1_40')", events(seed + 7, 1, 4, prefix="rw_")),
    "records withdrawn": lambda path, seed: drop_records(
        path, "record_id like 'd1_1%'", [o("solo", "2026-11-02 08:00:00+00", "cookie_id", "ck_solo")]),
    "a member erased": lambda path, seed: erase_profile_of(path, first_member_with_merges(path)),
    # A redacted event whose record sits in a profile that is not erased, as when a brand's rules block the member's
    # user id or make it weak: its links go, and so do its identity rows.
    "events erased outside the erased profiles": lambda path, seed: erase(
        path, "select null::varchar as profile_id limit 0",
        "select brand_id, record_id as event_id from identity.record_profiles where record_id in ('d1_7', 'd1_70', 'd1_700')"),
    "a review approved": lambda path, seed: execute(
        path, "create schema if not exists config",
        "create or replace table config.identity_merge_approvals as select source, record_id, 'analyst' as approved_by, "
        "now() as approved_at from identity.merge_review limit 1"),
    "nothing": lambda path, seed: None,
}


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("seed", [1, 2])
def test_an_incremental_resolution_equals_resolving_everything(tmp_path, change, seed):
    incremental, everything = tmp_path / "incremental.duckdb", tmp_path / "everything.duckdb"
    for path in (incremental, everything):
        add_observations(path, events(seed, 1, 1500))
        resolved(path)
    assert snapshot(incremental) == snapshot(everything)
    for path in (incremental, everything):
        CHANGES[change](path, seed)

    before = record_profiles(incremental)
    summary = resolved(incremental)
    reference = resolved(everything, incremental=False)

    assert summary.scope.endswith("appended to their profiles"), summary.scope  # it did resolve incrementally
    assert snapshot(incremental) == snapshot(everything)
    figures = ("records", "identifiers", "profiles", "merges", "review_queue", "rejected_links", "largest_profile",
               "replayed_components")
    assert [getattr(summary, f) for f in figures] == [getattr(reference, f) for f in figures]
    # The change log holds exactly the records whose row the resolution added, removed or changed.
    after = record_profiles(incremental)
    expected = {(*key, before.get(key, (None, None))[0], *after.get(key, (None, None)))
                for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        logged = con.execute("""select source, brand_id, record_id, previous_profile_id, profile_id, matched_by
            from identity.record_profile_changes where resolution = 2""").fetchall()
        resolutions = con.execute("select * exclude (resolved_at) from identity.resolutions order by 1").fetchall()
        first_logged = con.execute("select count(*) from identity.record_profile_changes where resolution = 1").fetchall()
    finally:
        con.close()
    assert sorted(logged, key=repr) == sorted(expected, key=repr)
    if change in ("next day", "late events for the first day", "records withdrawn", "nothing"):
        assert bool(expected) == (change != "nothing")
    # The first resolution logs no change: nothing was built before it.
    assert resolutions == [(1, 0, True), (2, len(expected), True)] and first_logged == [(0,)]


def test_a_next_day_of_known_members_stitches_little(tmp_path):
    """Known members' next events repeat identifiers their profiles hold: they join them without stitching."""
    path = tmp_path / "w.duckdb"
    day1 = events(3, 1, 3000, members=3000)
    add_observations(path, day1)
    resolved(path)
    repeated = [o(f"again_{record}", at.replace("2026-11-01", "2026-11-02"), t, v) for _, _, record, at, t, v in day1[:2000]]
    add_observations(path, repeated)
    summary = resolved(path)
    stitched, appended = (int(part.split()[0]) for part in summary.scope.split(", "))
    assert appended > 2 * stitched, summary.scope  # rules fired in some components, and some events carry 4 identifiers


def resolved_after(tmp_path: Path, first: list[tuple], then: list[tuple]):
    """Resolves `first`, adds `then` and resolves again incrementally; the result must equal resolving everything.
    Returns the incremental resolution's summary and its warehouse."""
    incremental, everything = tmp_path / "incremental.duckdb", tmp_path / "everything.duckdb"
    for path in (incremental, everything):
        add_observations(path, first)
        resolved(path)
        add_observations(path, then)
    summary = resolved(incremental)
    resolved(everything, incremental=False)
    assert snapshot(incremental) == snapshot(everything)
    return summary, incremental


def test_a_known_members_new_identifier_joins_their_profile_unless_it_links_or_crowds(tmp_path):
    """A known member's next event that brings a device never seen joins their profile without stitching, the device
    with it, also in a component where a rule fired (a cookie two members shared, kept with the first). A new cookie
    that a new visitor's event also carries links the two, and a second user id exceeds the limit of one per
    profile: both are stitched, and the result is the one resolving everything gives."""
    day1 = [o("a1", "2026-11-01 08:00:00+00", "user_id", "1"), o("a1", "2026-11-01 08:00:00+00", "device_id", "dev_a"),
            o("b1", "2026-11-01 09:00:00+00", "user_id", "2"), o("c1", "2026-11-01 10:00:00+00", "user_id", "3"),
            o("d1", "2026-11-01 11:00:00+00", "user_id", "5"), o("d1", "2026-11-01 11:00:00+00", "cookie_id", "ck_d"),
            o("e1", "2026-11-01 12:00:00+00", "user_id", "6"), o("e1", "2026-11-01 12:00:00+00", "cookie_id", "ck_d")]
    day2 = [o("a2", "2026-11-02 08:00:00+00", "user_id", "1"), o("a2", "2026-11-02 08:00:00+00", "device_id", "dev_new"),
            o("b2", "2026-11-02 09:00:00+00", "user_id", "2"), o("b2", "2026-11-02 09:00:00+00", "cookie_id", "ck_shared"),
            o("v2", "2026-11-02 09:30:00+00", "cookie_id", "ck_shared"),
            o("c2", "2026-11-02 10:00:00+00", "user_id", "3"), o("c2", "2026-11-02 10:00:00+00", "cookie_id", "ck_c"),
            o("c3", "2026-11-02 11:00:00+00", "user_id", "3"), o("c3", "2026-11-02 11:00:00+00", "user_id", "4"),
            o("e2", "2026-11-02 12:00:00+00", "user_id", "6"), o("e2", "2026-11-02 12:00:00+00", "device_id", "dev_e")]
    summary, incremental = resolved_after(tmp_path, day1, day2)
    # a2 and e2 join; b2 and v2 share a new cookie; c2's cookie is its own, but c3 (same member) brings a second user id.
    assert summary.scope == "6 records stitched again, 2 appended to their profiles", summary.scope
    ids = profile_ids(incremental)
    assert ids[("device_id", "dev_new")] == ids[("user_id", "1")] == ids[("device_id", "dev_a")]
    assert ids[("cookie_id", "ck_shared")] == ids[("user_id", "2")]
    assert ids[("device_id", "dev_e")] == ids[("user_id", "6")] != ids[("cookie_id", "ck_d")] == ids[("user_id", "5")]
    assert summary.replayed_components >= 1


def test_a_late_event_joins_in_place_only_when_its_identifiers_were_seen_before_it(tmp_path):
    """An event from a late file, before its member's last one: it joins their profile without stitching when each of
    its identifiers was seen before it; one earlier than the member's first event would move the profile's creation,
    and one carrying an identifier first seen after it would change what later events saw first: both are stitched."""
    day1 = [o("p1", "2026-11-01 08:00:00+00", "user_id", "1"), o("p1", "2026-11-01 08:00:00+00", "device_id", "dev_p"),
            o("p2", "2026-11-01 20:00:00+00", "user_id", "1"),
            o("q1", "2026-11-01 08:00:00+00", "user_id", "2"),
            o("q2", "2026-11-01 20:00:00+00", "user_id", "2"), o("q2", "2026-11-01 20:00:00+00", "email", "q@x.com"),
            o("r1", "2026-11-01 08:00:00+00", "user_id", "3"), o("r2", "2026-11-01 20:00:00+00", "user_id", "3")]
    late = [o("p_late", "2026-11-01 12:00:00+00", "user_id", "1"), o("p_late", "2026-11-01 12:00:00+00", "device_id", "dev_p"),
            o("q_late", "2026-11-01 12:00:00+00", "user_id", "2"), o("q_late", "2026-11-01 12:00:00+00", "email", "q@x.com"),
            o("r_late", "2026-11-01 06:00:00+00", "user_id", "3")]
    summary, incremental = resolved_after(tmp_path, day1, late)
    assert summary.scope == "6 records stitched again, 1 appended to their profiles", summary.scope  # q's and r's
    assert len(set(profile_ids(incremental).values())) == 3


def test_only_the_extracts_and_new_batches_of_event_links_are_hashed(tmp_path):
    """Finding what changed hashes the extracts' records (rebuilt every run) and the events of link batches no
    resolution read yet; old events' links are what the state hashed. A record gone from an extract is found; a
    changed approval, a state hashed by another DuckDB release, or every event linked again (new rules, a full
    refresh), has every record hashed. Each
    resolution equals resolving everything."""
    incremental, everything = tmp_path / "incremental.duckdb", tmp_path / "everything.duckdb"
    extract = [o("u1", "2026-11-01 07:00:00+00", "user_id", "1", source="app_user"),
               o("u2", "2026-11-01 07:00:00+00", "user_id", "2", source="app_user"),
               o("u2", "2026-11-01 07:00:00+00", "email", "m2@x.com", source="app_user")]

    def linked(where: str = "true") -> int:
        """Records of the links (those with an identifier that links) matching `where`."""
        con = duckdb.connect(str(incremental), read_only=True)
        try:
            return con.execute("select count(distinct (source, brand_id, record_id)) "
                               f"from intermediate.int_identity__links where {where}").fetchall()[0][0]
        finally:
            con.close()

    def hashed_after(change) -> int:
        for path in (incremental, everything):
            change(path)
        summary = resolved(incremental)
        resolved(everything, incremental=False)
        assert snapshot(incremental) == snapshot(everything)
        assert summary.scope.endswith("appended to their profiles"), summary.scope
        return summary.records_hashed

    for path in (incremental, everything):
        add_observations(path, events(6, 1, 400) + extract)
        resolved(path)
    assert hashed_after(lambda path: add_observations(path, events(6, 2, 50))) == linked("record_id like 'd2_%'") + 2
    withdrawn = [o("late_visit", "2026-11-02 23:00:00+00", "cookie_id", "ck_late")]
    assert hashed_after(lambda path: drop_records(path, "record_id = 'u2'", withdrawn, relink=False)) == 1 + 1
    approval = ("create schema if not exists config", "create or replace table config.identity_merge_approvals as "
                "select 'action_log' as source, 'd1_5' as record_id, 'analyst' as approved_by, now() as approved_at")
    assert hashed_after(lambda path: execute(path, *approval)) == linked()
    older_duckdb = "update identity.resolution_settings set hashed_with = '0.0.1'"  # another release's hashes
    assert hashed_after(lambda path: execute(path, older_duckdb)) == linked()
    relinked = [o("after_refresh", "2026-11-03 01:00:00+00", "cookie_id", "ck_refresh")]
    assert hashed_after(lambda path: add_observations(path, relinked, relink=True)) == linked()
    assert hashed_after(lambda path: None) == 1 == linked("source = 'app_user'")


def test_a_changed_setting_stitches_everything(tmp_path):
    path = tmp_path / "w.duckdb"
    add_observations(path, events(4, 1, 500))
    resolved(path)
    assert resolved(path, max_merge=4).scope.startswith("settings changed")
    assert resolved(path, max_merge=4).scope.endswith("appended to their profiles")


def test_identity_tables_written_without_the_state_stitch_everything(tmp_path):
    path = tmp_path / "w.duckdb"
    add_observations(path, events(5, 1, 500))
    resolved(path)
    execute(path, "insert into identity.record_profiles select * from identity.record_profiles limit 1")
    assert resolved(path).scope.startswith("state out of step")


def test_the_change_log_keeps_the_last_resolutions_changes(tmp_path):
    """Each resolution is numbered; the changes of the last KEPT_RESOLUTIONS stay, older ones are marked dropped,
    so a model that last applied one of those knows to rebuild whole."""
    path = tmp_path / "w.duckdb"
    add_observations(path, events(6, 1, 200))
    resolved(path)
    for k in range(KEPT_RESOLUTIONS + 1):  # one new anonymous record per resolution: one change each
        add_observations(path, [o(f"new_{k}", "2026-11-02 08:00:00+00", "cookie_id", f"ck_new_{k}")])
        resolved(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        resolutions = con.execute("select resolution, changed_records, changes_kept from identity.resolutions order by 1").fetchall()
        logged = con.execute("""select resolution, record_id, previous_profile_id from identity.record_profile_changes
            order by 1""").fetchall()
    finally:
        con.close()
    last = KEPT_RESOLUTIONS + 2
    assert resolutions == [(1, 0, False)] + [(r, 1, r > last - KEPT_RESOLUTIONS) for r in range(2, last + 1)]
    assert logged == [(r, f"new_{r - 2}", None) for r in range(last - KEPT_RESOLUTIONS + 1, last + 1)]
