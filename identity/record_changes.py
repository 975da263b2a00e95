"""Which records each resolution gave another profile: the log the models that follow records incrementally read.

- `identity.resolutions`: one row per resolution, numbered 1, 2, ...: when, how many records it changed, and
  whether its changes are still in the log.
- `identity.record_profile_changes`: one row per record whose `identity.record_profiles` row a resolution added,
  removed or changed (its profile or the identifier type that tied it), with the profile before and after. The
  changes of the last KEPT_RESOLUTIONS resolutions are kept.

A model that keeps one row per record (`int_identity__profile_events`) stores the last resolution it applied and,
on its next build, rewrites the rows of the records changed since; when some of those changes are no longer kept,
it rebuilds whole. Written with the identity tables, from the rows a resolution replaces: an incremental resolution
compares only the components it stitched, a resolution of everything the whole table. The first resolution logs no
change: nothing was built before it. An erasure deletes its members' changes as everywhere (erasure/redact.py).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

CHANGES = "identity.record_profile_changes"
RESOLUTIONS = "identity.resolutions"
# A month of daily builds: a model last built before that is rebuilt whole rather than replaying them.
KEPT_RESOLUTIONS = 30
KEY = ("source", "brand_id", "record_id")
NEXT_RESOLUTION = f"select coalesce(max(resolution), 0) + 1 from {RESOLUTIONS}"


def empty_log(record_profiles: str) -> str:
    """SQL (both engines): the change log's columns, typed after `record_profiles`, and no row."""
    return f"""select cast(null as bigint) as resolution, source, brand_id, record_id,
        profile_id as previous_profile_id, profile_id, matched_by
        from {record_profiles} limit 0"""


def changes(before: str, after: str, resolution: int) -> str:
    """SQL (both engines): the records whose rows differ between `before` (the record_profiles rows a resolution
    replaces) and `after` (their replacements), as changes of `resolution`."""
    joined = " and ".join(f"b.{c} is not distinct from a.{c}" for c in KEY)
    key = ", ".join(f"coalesce(a.{c}, b.{c}) as {c}" for c in KEY)
    return f"""
        select cast({int(resolution)} as bigint) as resolution, {key},
            b.profile_id as previous_profile_id, a.profile_id, a.matched_by
        from {before} as b full outer join {after} as a on {joined}
        where b.record_id is null or a.record_id is null
            or b.profile_id is distinct from a.profile_id or b.matched_by is distinct from a.matched_by"""


def kept(resolution: int) -> str:
    """SQL condition: a resolution's changes stay in the log once `resolution` is logged."""
    return f"resolution > {int(resolution) - KEPT_RESOLUTIONS}"


def log_resolution(con: duckdb.DuckDBPyConnection, before: str | None, after: str, now: datetime) -> None:
    """Number this resolution and log its changes between `before` (subquery or relation; None on the first
    resolution) and `after`, dropping the changes no longer kept. In the caller's transaction, before
    record_profiles is rewritten; `after` must exist already."""
    con.execute(f"""create table if not exists {RESOLUTIONS} (resolution bigint, resolved_at timestamptz,
        changed_records bigint, changes_kept boolean)""")
    con.execute(f"create table if not exists {CHANGES} as {empty_log(after)}")
    resolution = con.execute(NEXT_RESOLUTION).fetchall()[0][0]
    changed = con.execute(f"insert into {CHANGES} {changes(before, after, resolution)}").fetchall()[0][0] if before else 0
    con.execute(f"insert into {RESOLUTIONS} values (?, ?, ?, true)", [resolution, now, changed])
    con.execute(f"delete from {CHANGES} where not ({kept(resolution)})")
    con.execute(f"update {RESOLUTIONS} set changes_kept = false where changes_kept and not ({kept(resolution)})")
