"""Which records a resolution stitches again, and the state that tells.

Stitching is exact per connected component of the link graph (identity.stitch): a component that no new,
changed or removed record touches resolves exactly as it did. So a build stitches again only the components a
change touches; and a new record that repeats identifiers of one profile of an unchanged component, after that
component's last record (a known member's next event, most of a day's data), joins that profile without
stitching anything, with any identifiers it brings that no record held before (a new device, a new cookie) as
long as no other record of the build carries them and every type of the profile stays within its limit.
Everything else about resolution is unchanged; `resolve(..., incremental=False)` stitches every component, and
gives the same tables.

The state, kept beside the identity tables (DuckDB only; Spark resolves everything every build):
- `identity.resolution_records`: every resolved record, a hash of its links (identifiers, their rules, times, the
  record's approval) and its component. An erasure deletes its members' rows (the hash derives from identifiers).
- `identity.resolution_components`: each component's record count (when an erasure deleted some of its records,
  the count no longer matches and the component is stitched again without them), whether rules fired in it, and
  its last record in processing order.
- `identity.resolution_profiles`: each profile's component.
- `identity.resolution_settings`: the settings and state format it was made with (any difference stitches
  everything), a digest of the merge approvals and the DuckDB release that hashed the state.
- `identity.resolution_batches`: the batches of event links resolved, each a landing file's events as one dbt
  invocation linked them (`int_identity__event_links.linked_by`).

Finding what changed hashes every record's links, except the events of batches already resolved: the event links are
only appended, and erasure deletes an erased event's state row with its links, so such an event's links are what the
state hashed. Anything that writes event links again (new identity rules, a full refresh) replaces their batches with
new ones; a batch of the state that is gone, a change of the approvals or another DuckDB release has every record hashed
again.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

RECORDS = "identity.resolution_records"
COMPONENTS = "identity.resolution_components"
PROFILES = "identity.resolution_profiles"
SETTINGS = "identity.resolution_settings"
BATCHES = "identity.resolution_batches"
EVENT_LINKS = "intermediate.int_identity__event_links"  # the events' part of the links (int_identity__links)
RECORD_LINKS = "intermediate.int_identity__record_links"  # and the extracts' part
OUTPUTS = ("identity.identifier_profiles", "identity.record_profiles", "identity.profile_merges",
           "identity.merge_review", "identity.rejected_links")
FORMAT = 3  # raise when the state's meaning changes: the next build then stitches everything
RECORD_KEY = "source, brand_id, record_id"
# Processing order of records (identity.resolve numbers them so), as a row that compares lexicographically.
ORDER = "(observed_at, source, brand_id, record_id)"


@dataclass
class Scope:
    incremental: bool
    reason: str  # why everything is stitched, or what the increment holds
    stitched_records: int = 0
    appended_records: int = 0
    hashed_everything: bool = True  # _current holds every record (else: current_records' new_batches_only)


def same_record(a: str, b: str) -> str:
    """SQL: the rows aliased `a` and `b` are the same record."""
    return " and ".join(f"{a}.{c} = {b}.{c}" for c in ("source", "brand_id", "record_id"))


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {f"{s}.{t}" for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()}


def link_batches(con: duckdb.DuckDBPyConnection) -> bool:
    """_batches(source, source_file_id, linked_by): the batches of the event links. Returns whether the links are
    split into batches (the dbt project's shape; a hand-made links table is not)."""
    columns = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema || '.' || table_name = ?",
        [EVENT_LINKS]).fetchall()}
    batched = {"source", "source_file_id", "linked_by"} <= columns and RECORD_LINKS in _tables(con)
    con.execute("create or replace temp table _batches as " + (
        f"select distinct source, source_file_id, linked_by from {EVENT_LINKS}" if batched else
        "select null::varchar as source, null::varchar as source_file_id, null::varchar as linked_by limit 0"))
    return batched


def approvals_digest(con: duckdb.DuckDBPyConnection, approvals: str | None) -> int:
    if not approvals:
        return 0
    return con.execute(f"select hash(count(*), coalesce(sum(hash(source, record_id)), 0)) from {approvals}").fetchall()[0][0]


def current_records(con: duckdb.DuckDBPyConnection, links: str, approvals: str | None, *, new_batches_only: bool = False) -> None:
    """_current(record key, observed_at, links_hash): every record of `links` with a hash of everything stitching
    reads of it; with `new_batches_only`, the extracts' records and the events of batches the state does not hold
    (the others are as the state hashed them). The sum of link hashes does not depend on row order, so no sort."""
    approved = (f"exists (select 1 from {approvals} as a where a.source = p.source and a.record_id = p.record_id)"
                if approvals else "false")
    if new_batches_only:
        columns = f"{RECORD_KEY}, observed_at, id_type, value, priority, max_per_profile"
        con.execute(f"create or replace temp table _new_batches as select * from _batches except select * from {BATCHES}")
        links = f"""(select {columns} from {RECORD_LINKS} union all
                     select {columns} from {EVENT_LINKS} as e semi join _new_batches as b using (source, source_file_id, linked_by))"""
    con.execute(f"""
        create or replace temp table _current as
        with per_record as (
            select {RECORD_KEY}, min(observed_at) as observed_at, count(*) as links,
                sum(hash(id_type, value, observed_at, priority, max_per_profile)) as link_sum
            from {links} group by {RECORD_KEY}
        )
        select p.source, p.brand_id, p.record_id, p.observed_at, hash(p.link_sum, p.links, {approved}) as links_hash
        from per_record as p""")


def plan(con: duckdb.DuckDBPyConnection, links: str, max_merge: int, approvals: str | None, batched: bool) -> Scope:
    """Decide what this resolution stitches. Leaves temp tables for resolve: _current (current_records), _scope_links
    (the links to stitch), _appended (records that join a profile without stitching), _dirty (components whose rows
    are replaced). `batched`: the links are split into batches (link_batches)."""
    tables = _tables(con)
    missing = [t for t in (*OUTPUTS, RECORDS, COMPONENTS, PROFILES, SETTINGS, BATCHES) if t not in tables]
    if missing:
        return Scope(False, f"no previous resolution state ({missing[0]})")
    settings = con.execute(f"select max_merge, format from {SETTINGS}").fetchall()
    if settings != [(max_merge, FORMAT)]:
        return Scope(False, f"settings changed: {settings} -> {[(max_merge, FORMAT)]}")
    # Both lose the same rows to an erasure; anything else writing record_profiles would leave the state behind.
    states, outputs = con.execute(f"select (select count(*) from {RECORDS}), (select count(*) from identity.record_profiles)").fetchall()[0]
    if states != outputs:
        return Scope(False, f"state out of step with identity.record_profiles ({states} records, {outputs} rows)")
    # The state's hashes are comparable with this DuckDB's only if it made them (a release may change hash()).
    same_hashes = con.execute(f"select approvals_digest, hashed_with from {SETTINGS}").fetchall() == [
        (approvals_digest(con, approvals), duckdb.__version__)]
    # A batch the state resolved that is gone was linked again (or all its events erased): its events may be anywhere.
    [(gone,)] = con.execute(f"select count(*) from (select * from {BATCHES} except select * from _batches)").fetchall()
    new_batches_only = batched and same_hashes and not gone
    current_records(con, links, approvals, new_batches_only=new_batches_only)
    # The state's records compared with _current: all of them, or those _current hashed and every extract's record
    # (one that is gone must go from the state too).
    compared = (f"(select * from {RECORDS} as s where s.source not in (select source from _batches) "
                f"or exists (select 1 from _current as c where {same_record('c', 's')}))" if new_batches_only else RECORDS)
    con.execute(f"""
        create or replace temp table _delta as
        select {RECORD_KEY}, c.observed_at, c.links_hash, s.component as previous_component, c.links_hash is not null as present
        from _current as c full join {compared} as s using ({RECORD_KEY})
        where c.links_hash is distinct from s.links_hash""")
    # Each identifier of a new or changed record, with the profile and component it belonged to (null: never seen).
    con.execute(f"""
        create or replace temp table _delta_links as
        select d.source, d.brand_id, d.record_id, l.id_type, l.value, l.priority, l.max_per_profile, r.profile_id, rp.component
        from _delta as d
        join {links} as l using ({RECORD_KEY})
        left join identity.identifier_profiles as r
            on r.links_profiles and r.brand_id = l.brand_id and r.id_type = l.id_type and r.value = l.value
        left join {PROFILES} as rp on rp.profile_id = r.profile_id
        where d.present""")
    # New records whose known identifiers all belong to one profile and one component, and few enough that none can
    # be crowded. Applied after everything before it, such a record merges nothing: it joins that profile. (Two
    # components holding one profile id, which the state should never show, are stitched together instead.)
    con.execute(f"""
        create or replace temp table _candidates as
        select l.source, l.brand_id, l.record_id, any_value(l.profile_id) as profile_id, any_value(l.component) as component
        from _delta_links as l join _delta as d using ({RECORD_KEY})
        where d.previous_component is null
        group by l.source, l.brand_id, l.record_id
        having count(distinct l.profile_id) = 1 and count(distinct l.component) = 1 and count(l.profile_id) = count(l.component)
            and count(distinct (l.id_type, l.value)) <= {int(max_merge)}""")
    # An identifier never seen before joins a profile only if every record carrying it is a candidate of that
    # profile; one that another record carries (a new member's, a changed one's, another profile's) links them, so
    # its candidates are stitched instead (their component turns dirty below, and with it its other candidates:
    # whatever else they brought is stitched with them).
    con.execute(f"""
        delete from _candidates as c where exists (
            select 1 from _delta_links as l
            where {same_record('l', 'c')} and l.component is null and (l.brand_id, l.id_type, l.value) in (
                select (n.brand_id, n.id_type, n.value) from _delta_links as n left join _candidates as k using ({RECORD_KEY})
                where n.component is null group by all having count(k.profile_id) < count(*) or count(distinct k.profile_id) > 1))""")
    # Components an erasure took records from. Nothing else takes records from the state: unless the totals differ,
    # no component lost any.
    [(lost,)] = con.execute(f"select (select count(*) from {RECORDS}) <> (select coalesce(sum(records), 0) from {COMPONENTS})").fetchall()
    erased = f"""union
        select k.component from {COMPONENTS} as k
        left join (select component, count(*) as records from {RECORDS} group by component) as s using (component)
        where coalesce(s.records, 0) <> k.records""" if lost else ""
    con.execute(f"""
        create or replace temp table _dirty as
        select previous_component as component from _delta where previous_component is not null
        union
        select l.component from _delta_links as l
        where l.component is not null and not exists (select 1 from _candidates as c where {same_record('c', 'l')})
        {erased}""")
    # A candidate joins its profile only if its component stays clean, every candidate of it comes after its last
    # record (an earlier one could change which identifiers each record saw first), and the identifiers the
    # candidates bring keep every type of their profile within its limit (else the limit rule would reject one; in
    # a component where no rule fired yet, a rule would now fire).
    con.execute("""
        create or replace temp table _new_identifiers as
        select c.profile_id, c.component, l.brand_id, l.id_type, count(distinct l.value) as new_values,
            min(l.max_per_profile) as max_per_profile
        from _delta_links as l join _candidates as c using (source, brand_id, record_id)
        where l.component is null group by all""")
    con.execute("""
        create or replace temp table _crowded as
        select n.component from _new_identifiers as n
        left join (
            select profile_id, brand_id, id_type, count(*) as held from identity.identifier_profiles
            where links_profiles and profile_id in (select profile_id from _new_identifiers)
            group by all
        ) as h using (profile_id, brand_id, id_type)
        where not coalesce(coalesce(h.held, 0) + n.new_values <= n.max_per_profile, false)""")
    con.execute(f"""
        create or replace temp table _placed as
        select c.source, c.brand_id, c.record_id, c.component, d.observed_at, d.links_hash, k.replayed,
            (d.observed_at, c.source, c.brand_id, c.record_id) > (k.last_observed_at, k.last_source, k.last_brand_id, k.last_record_id) as after_last
        from _candidates as c
        join _delta as d using ({RECORD_KEY})
        join {COMPONENTS} as k using (component)
        where c.component not in (select component from _dirty) and c.component not in (select component from _crowded)""")
    # A late candidate (before its component's last record: a late file) changes nothing either, when no rule fired
    # in its component and each of its identifiers was seen before it (so it brings none): every later record saw
    # the same identifiers before it as without it, and no identifier's first sighting moves (the profile's
    # creation, the component's first record). Anything else late is stitched.
    con.execute(f"""
        create or replace temp table _late_links as
        select l.source, l.brand_id, l.record_id, l.id_type, l.value, l.component, p.observed_at
        from _delta_links as l join _placed as p using ({RECORD_KEY})
        where not p.after_last and not p.replayed""")
    con.execute(f"""
        create or replace temp table _late_in_place as
        select l.source, l.brand_id, l.record_id
        from _late_links as l
        left join (
            -- Each record carrying a late identifier, at its time: the first of its links.
            with carrying as (
                select {RECORD_KEY}, brand_id, id_type, value from {links}
                where (brand_id, id_type, value) in (select (brand_id, id_type, value) from _late_links)
            ), times as (
                select {RECORD_KEY}, min(observed_at) as observed_at from {links}
                where (source, brand_id, record_id) in (select (source, brand_id, record_id) from carrying)
                group by all
            )
            select s.brand_id, s.id_type, s.value, min((c.observed_at, c.source, c.brand_id, c.record_id)) as first_seen
            from carrying as s join times as c using ({RECORD_KEY})
            group by all
        ) as f using (brand_id, id_type, value)
        group by l.source, l.brand_id, l.record_id, l.observed_at
        having count(l.component) = count(*)
            and bool_and(coalesce(f.first_seen < (l.observed_at, l.source, l.brand_id, l.record_id), false))""")
    con.execute(f"""
        create or replace temp table _appended as
        with checked as (
            select p.*, p.after_last or exists (select 1 from _late_in_place as i where {same_record('i', 'p')}) as in_place
            from _placed as p
        )
        select source, brand_id, record_id, component, observed_at, links_hash from checked
        where component in (select component from checked group by component having bool_and(in_place))""")
    con.execute(f"""
        insert into _dirty
        select component from _candidates as c where not exists (select 1 from _appended as a where {same_record('a', 'c')})
        except select component from _dirty""")
    con.execute(f"""
        create or replace temp table _scope_records as
        select s.source, s.brand_id, s.record_id from {RECORDS} as s
        where s.component in (select component from _dirty)
            and not exists (select 1 from _delta as d where not d.present and {same_record('d', 's')})
        union
        select d.source, d.brand_id, d.record_id from _delta as d
        where d.present and not exists (select 1 from _appended as a where {same_record('a', 'd')})""")
    con.execute(f"""
        create or replace temp table _scope_links as
        select * from {links} as l where exists (select 1 from _scope_records as s where {same_record('s', 'l')})""")
    # The scope is whole components by construction; were the state ever inconsistent, stitch everything instead.
    leaked = con.execute(f"""
        select count(*) from {links} as l
        where exists (select 1 from _scope_links as n where n.brand_id = l.brand_id and n.id_type = l.id_type and n.value = l.value)
            and not exists (select 1 from _scope_records as s where {same_record('s', 'l')})""").fetchall()[0][0]
    if leaked:
        return Scope(False, f"state inconsistent: {leaked} links outside the changed components share their identifiers")
    stitched, appended = con.execute("select (select count(*) from _scope_records), (select count(*) from _appended)").fetchall()[0]
    return Scope(True, f"{stitched} records stitched again, {appended} appended to their profiles", stitched, appended,
                 hashed_everything=not new_batches_only)


def appended_profiles(con: duckdb.DuckDBPyConnection) -> None:
    """_appended_profiles: the record_profiles rows of the appended records, in the one profile their known identifiers
    belong to; the record matched by its strongest identifier, as stitching anchors it, which may be one it brought.
    _appended_identifiers: the identifier_profiles rows of the identifiers they brought, in that profile."""
    con.execute(f"""
        create or replace temp table _appended_profiles as
        select a.source, a.brand_id, a.record_id, a.observed_at, any_value(l.profile_id) as profile_id,
            arg_min(l.id_type, (l.priority, l.id_type, l.value)) as matched_by
        from _appended as a
        join _delta_links as l using ({RECORD_KEY})
        group by a.source, a.brand_id, a.record_id, a.observed_at""")
    con.execute(f"""
        create or replace temp table _appended_identifiers as
        select l.brand_id, l.id_type, l.value, any_value(a.profile_id) as profile_id,
            any_value(p.profile_created_at) as profile_created_at, true as links_profiles
        from _appended_profiles as a
        join _delta_links as l using ({RECORD_KEY})
        join (select profile_id, any_value(profile_created_at) as profile_created_at from identity.identifier_profiles
              where links_profiles and profile_id in (select profile_id from _appended_profiles) group by profile_id) as p
            on p.profile_id = a.profile_id
        where l.component is null
        group by l.brand_id, l.id_type, l.value""")


def stitched_state(con: duckdb.DuckDBPyConnection, scope: Scope) -> None:
    """_state_records, _state_components, _state_profiles: the state of what was stitched (resolve's temp tables
    _records, _nodes, _node_component, _record_anchor_arrow, _component_replayed, _node_profile, _profile_ids). A
    record _current did not hash keeps the hash the state holds."""
    # A component is named by the identifier its first record anchors on: records that join it later, bringing
    # identifiers of their own, leave its name as it was.
    con.execute("""
        create or replace temp table _component_keys as
        select c.component, arg_min(n.key, a.rec) as component_key
        from _record_anchor_arrow as a join _node_component as c on c.node = a.anchor join _nodes as n on n.node = a.anchor
        group by c.component""")
    # Stitching everything numbered the records with their hashes (identity.resolve.load_graph); an increment's
    # records find theirs in _current, or in the state when _current did not hash them.
    if not scope.incremental:
        links_hash, hashes = "r.links_hash", ""
    elif scope.hashed_everything:
        links_hash, hashes = "c.links_hash", f"join _current as c using ({RECORD_KEY})"
    else:
        links_hash = "coalesce(c.links_hash, s.links_hash)"
        hashes = f"left join _current as c using ({RECORD_KEY}) left join {RECORDS} as s using ({RECORD_KEY})"
    con.execute(f"""
        create or replace temp table _state_records as
        select r.source, r.brand_id, r.record_id, {links_hash} as links_hash, k.component_key as component, r.rec,
            r.observed_at
        from _record_anchor_arrow as a
        join _records as r using (rec)
        join _node_component as nc on nc.node = a.anchor
        join _component_keys as k on k.component = nc.component
        {hashes}""")
    con.execute("""
        create or replace temp table _state_components as
        select s.component, count(*) as records, any_value(p.replayed) as replayed,
            arg_max(s.observed_at, s.rec) as last_observed_at, arg_max(s.source, s.rec) as last_source,
            arg_max(s.brand_id, s.rec) as last_brand_id, arg_max(s.record_id, s.rec) as last_record_id
        from _state_records as s
        join _component_keys as k on k.component_key = s.component
        join _component_replayed as p on p.component = k.component
        group by s.component""")
    con.execute("""
        create or replace temp table _state_profiles as
        select i.profile_id, any_value(k.component_key) as component
        from _profile_ids as i join _node_profile as p using (profile)
        join _node_component as c using (node) join _component_keys as k on k.component = c.component
        group by i.profile_id""")


RECORD_COLUMNS = "source, brand_id, record_id, links_hash, component"
COMPONENT_COLUMNS = "component, records, replayed, last_observed_at, last_source, last_brand_id, last_record_id"


def _write_inputs(con: duckdb.DuckDBPyConnection, max_merge: int, approvals: str | None) -> None:
    """The settings, the approvals and the link batches this resolution read."""
    con.execute(f"create or replace table {SETTINGS} as select {int(max_merge)} as max_merge, {FORMAT} as format, "
                f"{approvals_digest(con, approvals)} as approvals_digest, '{duckdb.__version__}' as hashed_with")
    con.execute(f"create or replace table {BATCHES} as select * from _batches")


def write_full(con: duckdb.DuckDBPyConnection, max_merge: int, approvals: str | None) -> None:
    """Replace the whole state (inside resolve's transaction)."""
    con.execute(f"create or replace table {RECORDS} as select {RECORD_COLUMNS} from _state_records")
    con.execute(f"create or replace table {COMPONENTS} as select {COMPONENT_COLUMNS} from _state_components")
    con.execute(f"create or replace table {PROFILES} as select profile_id, component from _state_profiles")
    _write_inputs(con, max_merge, approvals)


def write_increment(con: duckdb.DuckDBPyConnection, max_merge: int, approvals: str | None) -> None:
    """Replace the state of the dirty components and add the appended records (inside resolve's transaction)."""
    _write_inputs(con, max_merge, approvals)
    dirty = "component in (select component from _dirty)"
    con.execute(f"delete from {RECORDS} where {dirty}")
    con.execute(f"insert into {RECORDS} select {RECORD_COLUMNS} from _state_records")
    con.execute(f"insert into {RECORDS} select {RECORD_COLUMNS} from _appended")
    con.execute(f"delete from {PROFILES} where {dirty}")
    con.execute(f"insert into {PROFILES} select profile_id, component from _state_profiles")
    con.execute(f"delete from {COMPONENTS} where {dirty}")
    con.execute(f"insert into {COMPONENTS} select {COMPONENT_COLUMNS} from _state_components")
    con.execute(f"""
        create or replace temp table _appended_components as
        select component, count(*) as records,
            arg_max(observed_at, {ORDER}) as last_observed_at, arg_max(source, {ORDER}) as last_source,
            arg_max(brand_id, {ORDER}) as last_brand_id, arg_max(record_id, {ORDER}) as last_record_id
        from _appended group by component""")
    con.execute(f"update {COMPONENTS} as k set records = k.records + a.records from _appended_components as a "
                "where k.component = a.component")
    # A late record joined before the last one, which stays the last.
    con.execute(f"""
        update {COMPONENTS} as k set last_observed_at = a.last_observed_at, last_source = a.last_source,
            last_brand_id = a.last_brand_id, last_record_id = a.last_record_id
        from _appended_components as a
        where k.component = a.component
            and (a.last_observed_at, a.last_source, a.last_brand_id, a.last_record_id)
                > (k.last_observed_at, k.last_source, k.last_brand_id, k.last_record_id)""")
