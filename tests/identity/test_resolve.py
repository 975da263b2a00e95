"""Profiles with stable ids in a real DuckDB file: rebuilds, appended days, merges, review, crashes."""

from __future__ import annotations

import pytest

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from identity.resolve import resolve
from ingestion.paths import PROJECT_ROOT
from tests.identity.links import add_observations, observation as o, profile_ids

DAY1 = [
    o("e1", "2026-11-01 09:00:00+00", "cookie_id", "ck_anon"),  # anonymous browsing, later identified
    o("e2", "2026-11-01 10:00:00+00", "user_id", "1"), o("e2", "2026-11-01 10:00:00+00", "device_id", "dev_1"),
    o("e3", "2026-11-01 11:00:00+00", "user_id", "2"), o("e3", "2026-11-01 11:00:00+00", "email", "two@x.com"),
    o("e4", "2026-11-01 12:00:00+00", "device_id", "dev_anon"),
    o("e5", "2026-11-01 13:00:00+00", "user_id", "1"), o("e5", "2026-11-01 13:00:00+00", "card_last4", "4242"),
    o("e6", "2026-11-01 14:00:00+00", "user_id", "2"), o("e6", "2026-11-01 14:00:00+00", "card_last4", "4242"),
]
DAY2 = [  # member 2 signs in on the anonymous cookie's browser
    o("e7", "2026-11-02 09:00:00+00", "user_id", "2"), o("e7", "2026-11-02 09:00:00+00", "cookie_id", "ck_anon"),
]


def resolved(path: Path, **kwargs):
    con = duckdb.connect(str(path))
    try:
        return resolve(con, **kwargs)
    finally:
        con.close()


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_rebuilding_from_the_same_input_gives_identical_ids(tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    for path in (a, b):
        add_observations(path, DAY1 + DAY2)
        resolved(path)
    assert profile_ids(a) == profile_ids(b)
    before = profile_ids(a)
    summary = resolved(a)  # and again on the same file, with the registry in place
    assert profile_ids(a) == before and summary.merges == 0


def test_weak_identifiers_sit_on_profiles_without_linking_them(tmp_path):
    path = tmp_path / "w.duckdb"
    add_observations(path, DAY1)
    resolved(path)
    ids = profile_ids(path)
    assert ids[("user_id", "1")] != ids[("user_id", "2")]
    cards = query(path, "select profile_id from identity.identifier_profiles where id_type = 'card_last4' order by 1")
    assert sorted(p for (p,) in cards) == sorted([ids[("user_id", "1")], ids[("user_id", "2")]])


def test_a_new_day_keeps_unrelated_ids_and_records_the_merge_it_causes(tmp_path):
    path = tmp_path / "w.duckdb"
    add_observations(path, DAY1)
    resolved(path)
    day1 = profile_ids(path)
    assert len(set(day1.values())) == 4  # member 1, member 2, anonymous cookie, anonymous device

    add_observations(path, DAY2)
    summary = resolved(path)
    day2 = profile_ids(path)
    # Untouched profiles keep their ids.
    assert day2[("user_id", "1")] == day1[("user_id", "1")] == day2[("device_id", "dev_1")]
    assert day2[("device_id", "dev_anon")] == day1[("device_id", "dev_anon")]
    # Member 2 and the anonymous cookie merge; the older (the cookie's, seen first) id survives.
    survivor = day1[("cookie_id", "ck_anon")]
    assert day2[("user_id", "2")] == day2[("email", "two@x.com")] == day2[("cookie_id", "ck_anon")] == survivor
    assert summary.merges == 1
    merges = query(path, """select profile_id, merged_profile_id, cause_source, cause_record_id, cause_anchor,
        cause_identifier, strftime(merged_at, '%Y-%m-%d %H:%M') from identity.profile_merges""")
    assert merges == [(survivor, day1[("user_id", "2")], "action_log", "e7", "user_id:2", "cookie_id:ck_anon",
                       "2026-11-02 09:00")]
    # The merge log is history: a rebuild keeps it and does not record it twice.
    resolved(path)
    assert len(query(path, "select * from identity.profile_merges")) == 1
    assert profile_ids(path) == day2


def test_a_link_joining_four_profiles_waits_for_review_until_approved(tmp_path):
    path = tmp_path / "w.duckdb"
    add_observations(path, [o(f"c{i}", f"2026-11-01 0{i}:00:00+00", "cookie_id", f"ck_{i}") for i in range(4)])
    resolved(path)
    before = profile_ids(path)
    four = [o("big", "2026-11-02 09:00:00+00", "device_id", "dev_tablet")] + \
        [o("big", "2026-11-02 09:00:00+00", "cookie_id", f"ck_{i}") for i in range(4)]
    add_observations(path, four)
    summary = resolved(path)
    assert summary.review_queue == 1 and summary.merges == 0
    review = query(path, "select record_id, matched_profiles, matched_profile_ids, status from identity.merge_review")
    assert review == [("big", 4, sorted(before.values()), "pending")]
    assert all(profile_ids(path)[k] == v for k, v in before.items())

    con = duckdb.connect(str(path))
    con.execute("create schema config")
    con.execute("create table config.identity_merge_approvals as select 'action_log' as source, 'big' as record_id, "
                "'analyst@brand' as approved_by, now() as approved_at")
    con.close()
    summary = resolved(path)
    assert summary.review_queue == 0 and summary.merges == 4  # the four cookies and the tablet, held apart until now
    after = profile_ids(path)
    assert set(after.values()) == {before[("cookie_id", "ck_0")]}  # the oldest survives


CHILD = """
import sys, duckdb
from identity.resolve import resolve
con = duckdb.connect(sys.argv[1])
resolve(con)
con.close()
"""


@pytest.mark.slow
def test_a_killed_resolution_leaves_the_previous_state_whole(tmp_path):
    path = tmp_path / "w.duckdb"
    day1 = [row for i in range(20_000) for row in (o(f"a{i}", "2026-11-01 10:00:00+00", "user_id", str(i)),
                                                   o(f"a{i}", "2026-11-01 10:00:00+00", "email", f"m{i}@x.com"))]
    add_observations(path, day1)
    resolved(path)
    state1 = profile_ids(path)
    day2 = [row for i in range(20_000) for row in (o(f"b{i}", "2026-11-02 10:00:00+00", "user_id", str(i)),
                                                   o(f"b{i}", "2026-11-02 10:00:00+00", "device_id", f"d{i}"))]
    add_observations(path, day2)

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    killed = 0
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6, 2.0):
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], env=env)
        time.sleep(delay)
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        child.wait()
        state = profile_ids(path)
        # Either the whole previous state or the whole new one, never a mix.
        assert state == state1 or (len(state) == 60_000 and all(state[k] == v for k, v in state1.items()))
        counts = query(path, "select (select count(*) from identity.record_profiles), (select count(*) from identity.identifier_profiles)")[0]
        assert counts in ((20_000, 40_000), (40_000, 60_000))
    assert killed >= 1, "the child finished before any kill; the test proved nothing"
    resolved(path)
    final = profile_ids(path)
    assert len(final) == 60_000 and all(final[k] == v for k, v in state1.items())
