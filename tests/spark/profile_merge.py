"""A profile merge and an erasure between two builds, written into a DuckDB warehouse's identity tables.

The achievement feed (`marts.achievement_completions`) must follow them on its next incremental build: the
merged profile's completions move to the survivor (a key both had stays once), and the erased profile's go.
Two profiles of one brand that have completed the same window are merged, the one whose profile id comes
first into the other, where it has completed a window the survivor has not: its actions and identifiers
(all but its user id, so the identity tables stay one member per user) now resolve to the survivor,
`identity.profile_merges` records the merge, and the moved records are logged as a resolution's changes
(`identity.resolutions`, `identity.record_profile_changes`). A third profile with completions is erased."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

MERGED_AT = "2026-11-21 00:00:00+00"


@dataclass(frozen=True)
class MergeAndErasure:
    merged: str
    survivor: str
    erased: str


def merge_and_erase(warehouse: Path) -> MergeAndErasure:
    with duckdb.connect(str(warehouse)) as con:
        pair = con.execute("""
            with c as (select distinct profile_id, brand_id, achievement_config_id, window_key
                       from marts.achievement_completions)
            select a.profile_id, b.profile_id
            from c as a inner join c as b using (brand_id, achievement_config_id, window_key)
            where a.profile_id < b.profile_id
                and exists (select 1 from c as own where own.profile_id = a.profile_id and not exists (
                    select 1 from c as other where other.profile_id = b.profile_id
                        and other.achievement_config_id = own.achievement_config_id and other.window_key = own.window_key))
            order by 1, 2 limit 1""").fetchone()
        assert pair, "no two profiles of one brand share a completed window"
        merged, survivor = pair
        erased, brand_id, user_id = con.execute("""
            select profile_id, brand_id, user_id from marts.achievement_completions
            where profile_id not in (?, ?) order by profile_id limit 1""", [merged, survivor]).fetchone()
        resolution = con.execute("select max(resolution) + 1 from identity.resolutions").fetchone()[0]
        [(moved,)] = con.execute("""insert into identity.record_profile_changes
            select ?, source, brand_id, record_id, profile_id, ?, matched_by from identity.record_profiles
            where profile_id = ?""", [resolution, survivor, merged]).fetchall()
        con.execute("insert into identity.resolutions values (?, ?, ?, true)", [resolution, MERGED_AT, moved])
        con.execute("update identity.record_profiles set profile_id = ? where profile_id = ?", [survivor, merged])
        con.execute("""update identity.identifier_profiles set profile_id = ?
                       where profile_id = ? and id_type <> 'user_id'""", [survivor, merged])
        con.execute("""insert into identity.profile_merges (profile_id, merged_profile_id, merged_at, detected_at)
                       values (?, ?, ?, ?)""", [survivor, merged, MERGED_AT, MERGED_AT])
        con.execute("insert into identity.erasures (brand_id, user_id, requested_at, profile_id) values (?, ?, ?, ?)",
                    [brand_id, user_id, MERGED_AT, erased])
    return MergeAndErasure(merged, survivor, erased)
