"""Identity resolution against the warehouse: links in, profiles with stable ids out.

Reads `intermediate.int_identity__links` (built by dbt), stitches it (identity.stitch) and
writes the `identity` tables in one transaction, so a crash leaves the previous state whole. After the
first build only the components a build's changes touch are stitched again (identity.resolution_scope).
The previous `identity.identifier_profiles` is the id registry: a profile keeps the id it had,
profiles that merge keep the oldest id, and the merge is appended to `identity.profile_merges`.
Brand-new profiles get an id derived from their founding identifier, so rebuilding from the same
input gives the same ids.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa

from identity.merge_causes import first_merge_causes
from identity.record_changes import log_resolution
from identity.resolution_scope import (Scope, appended_profiles, current_records, link_batches, plan, same_record,
                                       stitched_state, write_full, write_increment)
from identity.stitch import Graph, StitchResult, stitch

LINKS = "intermediate.int_identity__links"
OBSERVATIONS = "intermediate.int_identity__observations"
IDENTIFIERS = "intermediate.int_identity__identifiers"
APPROVALS = "config.identity_merge_approvals"
SCOPE_LINKS = "_scope_links"  # the links of the records this resolution stitches (identity.resolution_scope)
ID_TYPES = ("user_id", "email", "phone", "whatsapp", "loyalty_id", "device_id", "qr_id", "cookie_id", "card_last4")
NO_LIMIT = 1 << 40


@dataclass
class ResolveSummary:
    records: int
    identifiers: int
    profiles: int
    merges: int
    review_queue: int
    rejected_links: int
    largest_profile: int
    replayed_components: int
    seconds: float
    scope: str  # what was stitched: everything (and why), or how many records again and how many appended
    # Records whose links were hashed to find what changed (identity.resolution_scope); None on Spark, which looks
    # for no change.
    records_hashed: int | None


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(_one(con, "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                     [schema, name])[0])


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> tuple:
    return con.execute(sql, params or []).fetchall()[0]  # fetchall: DuckDB wants every result consumed


def _numpy(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    table = con.sql(sql).to_arrow_table()
    return {name: table.column(name).to_numpy() for name in table.column_names}


def load_graph(con: duckdb.DuckDBPyConnection, max_merge: int, links: str = LINKS, hashed: bool = False) -> Graph:
    """Number the records of `links` in processing order and identifiers densely; returns the stitching input.
    `hashed`: _current (identity.resolution_scope.current_records) holds exactly the records of `links`, with their
    first observation and links hash; the records are numbered from it, with their hash, instead of grouping the
    links again."""
    # Hash keys make the big join integer-only; a collision would add rows, which the count check catches.
    records = ("select source, brand_id, record_id, observed_at, links_hash from _current" if hashed else
               f"""select source, brand_id, record_id, min(observed_at) as observed_at, cast(null as ubigint) as links_hash
                   from {links} group by source, brand_id, record_id""")
    con.execute(f"""
        create or replace temp table _records as
        select hash(source, brand_id, record_id) as key, source, brand_id, record_id, observed_at, links_hash,
            row_number() over (order by observed_at, source, brand_id, record_id) - 1 as rec
        from ({records})""")
    con.execute(f"""
        create or replace temp table _nodes as
        select hash(brand_id, id_type, value) as key, brand_id, id_type, value, min(priority) as priority,
            min(max_per_profile) as max_per_profile, min(observed_at) as first_seen_at,
            row_number() over (order by brand_id, id_type, value) - 1 as node
        from {links} group by brand_id, id_type, value""")
    con.execute(f"""
        create or replace temp table _obs as
        select r.rec, n.node
        from {links} as l
        join _records as r on r.key = hash(l.source, l.brand_id, l.record_id)
        join _nodes as n on n.key = hash(l.brand_id, l.id_type, l.value)""")
    joined, linked = _one(con, f"select (select count(*) from _obs), (select count(*) from {links})")
    if joined != linked:
        raise RuntimeError(f"identifier hash collision: {joined} joined rows for {linked} links")
    types = ", ".join(f"'{t}'" for t in ID_TYPES)
    nodes = _numpy(con, f"""
        select list_position([{types}], id_type) - 1 as type_code, priority, max_per_profile,
            dense_rank() over (order by brand_id) - 1 as brand_code
        from _nodes order by node""")
    obs = _numpy(con, "select rec, node from _obs")
    n_brands = int(nodes["brand_code"].max()) + 1 if len(nodes["brand_code"]) else 0
    limits = np.full((n_brands, len(ID_TYPES)), NO_LIMIT, dtype=np.int64)
    limits[nodes["brand_code"], nodes["type_code"]] = nodes["max_per_profile"]
    approved = None
    if _table_exists(con, "config", "identity_merge_approvals"):
        approved = _numpy(con, f"select r.rec from {APPROVALS} join _records as r using (source, record_id)")["rec"]
    return Graph(obs_record=obs["rec"].astype(np.int64), obs_node=obs["node"].astype(np.int64),
                 node_type=nodes["type_code"].astype(np.int64), node_priority=nodes["priority"].astype(np.int64),
                 node_group=nodes["brand_code"].astype(np.int64), limits=limits, max_merge=max_merge,
                 approved_records=approved)


def _assign_ids(con: duckdb.DuckDBPyConnection, has_registry: bool) -> None:
    """_profile_ids(profile, profile_id, profile_created_at): carried over or derived from the founding identifier."""
    con.execute("""
        create or replace temp table _profiles as
        select p.profile, any_value(n.brand_id) as brand_id, min(n.first_seen_at) as created_at,
            arg_min(n.id_type || ':' || n.value, (n.first_seen_at, n.priority, n.value)) as founder,
            count(*) as size
        from _node_profile as p join _nodes as n using (node) group by p.profile""")
    if has_registry:
        con.execute("""
            create or replace temp table _claims as
            select p.profile, r.profile_id as prev_id, min(r.profile_created_at) as prev_created_at, count(*) as overlap
            from _node_profile as p join _nodes as n using (node)
            join identity.identifier_profiles as r using (brand_id, id_type, value)
            where r.links_profiles
            group by all""")
    else:
        con.execute("create or replace temp table _claims (profile bigint, prev_id varchar, prev_created_at timestamptz, overlap bigint)")
    con.execute("""
        create or replace temp table _profile_ids as
        with won as (  -- a previous id goes to the profile holding most of its identifiers (a split keeps it once)
            select c.*, row_number() over (partition by c.prev_id order by c.overlap desc, p.created_at, p.profile) = 1 as wins
            from _claims as c join _profiles as p using (profile)
        ),
        kept as (  -- a profile keeps the oldest previous id it won
            select profile, arg_min(prev_id, (prev_created_at, prev_id)) as prev_id, min(prev_created_at) as prev_created_at
            from won where wins group by profile
        ),
        derived as (
            select p.*, k.prev_id, k.prev_created_at,
                'prof_' || left(md5(p.brand_id || ':' || p.founder), 20) as fresh_id
            from _profiles as p left join kept as k using (profile)
        )
        select profile, brand_id, size,
            coalesce(prev_id, case when fresh_id in (select prev_id from _claims) then 'prof_' || left(md5(fresh_id || ':split'), 20)
                                   else fresh_id end) as profile_id,
            least(created_at, coalesce(prev_created_at, created_at)) as profile_created_at
        from derived""")


def _merge_causes(con: duckdb.DuckDBPyConnection, result: StitchResult) -> list[dict]:
    """For each previous id absorbed into an older one: the first applied link that joined them."""
    retired = con.execute("""
        select c.profile, c.prev_id, c.prev_created_at, i.profile_id as survivor
        from _claims as c join _profile_ids as i using (profile)
        where c.prev_id <> i.profile_id and c.prev_id not in (select profile_id from _profile_ids)""").fetchall()
    if not retired:
        return []
    profiles = {row[0] for row in retired}
    prev = con.execute("""
        select n.node, c.prev_id, c.prev_created_at from _node_profile as p join _nodes as n using (node)
        join identity.identifier_profiles as r using (brand_id, id_type, value)
        join _claims as c on c.profile = p.profile and c.prev_id = r.profile_id
        where r.links_profiles and p.profile in (select unnest(?))""", [sorted(profiles)]).fetchall()
    node_prev = {node: (created, prev_id) for node, prev_id, created in prev}
    profile_of = result.profile
    in_scope = np.isin(profile_of[result.edge_anchor], list(profiles)) & result.edge_made
    order = np.flatnonzero(in_scope)[np.argsort(result.edge_record[in_scope], kind="stable")]
    links = zip(result.edge_record[order].tolist(), result.edge_anchor[order].tolist(), result.edge_node[order].tolist())
    causes = first_merge_causes(node_prev, links, {row[1] for row in retired})
    rows = []
    for _, prev_id, _, survivor in retired:
        record, anchor, node = causes.get(prev_id, (-1, -1, -1))
        rows.append({"merged_profile_id": prev_id, "profile_id": survivor, "rec": record, "anchor": anchor, "node": node})
    return rows


def resolve(con: duckdb.DuckDBPyConnection, *, max_merge: int = 3, now: datetime | None = None,
            incremental: bool = True) -> ResolveSummary:
    """Resolve the links into the identity tables. Incremental (identity.resolution_scope): only the components a
    change touches are stitched again; `incremental=False` stitches everything, with the same result."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    approvals = APPROVALS if _table_exists(con, "config", "identity_merge_approvals") else None
    batched = link_batches(con)
    scope = plan(con, LINKS, max_merge, approvals, batched) if incremental else Scope(False, "asked to stitch everything")
    if not scope.incremental:
        current_records(con, LINKS, approvals)
    [hashed] = _one(con, "select count(*) from _current")
    graph = load_graph(con, max_merge, SCOPE_LINKS if scope.incremental else LINKS, hashed=not scope.incremental)
    result = stitch(graph)
    nodes = np.arange(graph.n_nodes, dtype=np.int64)
    con.register("_node_profile_arrow", pa.table({"node": nodes, "profile": result.profile, "component": result.component}))
    con.execute("create or replace temp table _node_profile as select node, profile from _node_profile_arrow")
    con.execute("create or replace temp table _node_component as select node, component from _node_profile_arrow")
    con.unregister("_node_profile_arrow")
    con.register("_component_replayed", pa.table({"component": np.arange(len(result.replayed), dtype=np.int64),
                                                  "replayed": result.replayed}))
    has_registry = _table_exists(con, "identity", "identifier_profiles")
    _assign_ids(con, has_registry)
    merges = _merge_causes(con, result) if has_registry else []
    if scope.incremental:
        appended_profiles(con)
    con.register("_record_anchor_arrow", pa.table({"rec": np.arange(len(result.record_anchor), dtype=np.int64),
                                                   "anchor": result.record_anchor}))
    con.register("_merges_arrow", pa.Table.from_pylist(merges, schema=pa.schema(
        [("merged_profile_id", pa.string()), ("profile_id", pa.string()), ("rec", pa.int64()), ("anchor", pa.int64()), ("node", pa.int64())])))
    con.register("_review_arrow", pa.Table.from_pylist(
        [{"rec": r, "node": n} for r, nodes in result.review for n in nodes], schema=pa.schema([("rec", pa.int64()), ("node", pa.int64())])))
    con.register("_rejected_arrow", pa.Table.from_pylist(
        [{"rec": r, "node": n, "over_type": ID_TYPES[t]} for r, n, t in result.rejected],
        schema=pa.schema([("rec", pa.int64()), ("node", pa.int64()), ("over_type", pa.string())])))
    _write(con, now, scope, max_merge, approvals)
    for name in ("_record_anchor_arrow", "_merges_arrow", "_review_arrow", "_rejected_arrow", "_component_replayed"):
        con.unregister(name)
    summary = _one(con, """select (select count(*) from identity.record_profiles), p.identifiers, p.profiles,
        (select count(*) from identity.merge_review), (select count(*) from identity.rejected_links), p.largest,
        (select count(*) from identity.resolution_components where replayed)
        from (select coalesce(sum(size), 0) as identifiers, count(profile_id) as profiles, coalesce(max(size), 0) as largest
              from (select profile_id, count(*) as size from identity.identifier_profiles where links_profiles
                    group by profile_id)) as p""")
    return ResolveSummary(records=summary[0], identifiers=summary[1], profiles=summary[2], merges=len(merges),
                          review_queue=summary[3], rejected_links=summary[4], largest_profile=summary[5],
                          replayed_components=summary[6], seconds=round(time.perf_counter() - started, 3),
                          scope=scope.reason, records_hashed=hashed)


def _write(con: duckdb.DuckDBPyConnection, now: datetime, scope: Scope, max_merge: int, approvals: str | None) -> None:
    """The stitched records' rows into the identity tables and the resolution state, in one transaction: replacing
    every table, or (incremental) the rows of the changed components, plus the appended records."""
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists identity")
        merges_before = "select * from identity.profile_merges" if _table_exists(con, "identity", "profile_merges") else None
        # Views: written once into the identity tables (or the rows replacing a component's), and read once more only
        # when a resolution of everything logs its changes from earlier results. Materialized first, they cost a
        # first resolution at 1M members 5.6 and 2.2 s more.
        con.execute("""
            create or replace temp view _record_profiles as
            select r.source, r.brand_id, r.record_id, r.observed_at, i.profile_id, n.id_type as matched_by
            from _record_anchor_arrow as a
            join _records as r using (rec)
            join _node_profile as p on p.node = a.anchor
            join _nodes as n on n.node = a.anchor
            join _profile_ids as i using (profile)""")
        con.execute("""
            create or replace temp view _identifier_links as
            select n.brand_id, n.id_type, n.value, i.profile_id, i.profile_created_at, true as links_profiles
            from _nodes as n join _node_profile as p using (node) join _profile_ids as i using (profile)""")
        con.execute("""
            create or replace temp table _review_rows as
            select r.source, r.brand_id, r.record_id, r.observed_at,
                list(distinct i.profile_id order by i.profile_id) as matched_profile_ids,
                count(distinct i.profile_id) as matched_profiles,
                'pending' as status
            from _review_arrow as v
            join _records as r using (rec)
            join _node_profile as p using (node)
            join _profile_ids as i using (profile)
            group by all
            order by r.observed_at, r.source, r.record_id""")
        con.execute("""
            create or replace temp table _rejected_rows as
            select r.source, r.brand_id, r.record_id, r.observed_at, n.id_type, n.value,
                i.profile_id as kept_in_profile_id, 'limit_' || v.over_type as reason
            from _rejected_arrow as v
            join _records as r using (rec)
            join _nodes as n using (node)
            join _node_profile as p using (node)
            join _profile_ids as i using (profile)
            order by r.observed_at, r.source, r.record_id""")
        stitched_state(con, scope)
        if scope.incremental:
            con.execute("create or replace temp table _rewritten_profiles as "
                        "select * from _record_profiles union all select * from _appended_profiles")
            log_resolution(con, f"(select * from identity.record_profiles as t where {_STALE})", "_rewritten_profiles", now)
            _replace_changed_components(con, max_merge, approvals)
        else:
            log_resolution(con, "identity.record_profiles" if _table_exists(con, "identity", "record_profiles") else None,
                           "_record_profiles", now)
            for table, rows in (("record_profiles", "_record_profiles"), ("identifier_profiles", "_identifier_links"),
                                ("merge_review", "_review_rows"), ("rejected_links", "_rejected_rows")):
                con.execute(f"create or replace table identity.{table} as select * from {rows}")
            write_full(con, max_merge, approvals)
        # Weak identifiers (card last 4) join the profile of each record they were seen on, whatever was stitched.
        con.execute("delete from identity.identifier_profiles where not links_profiles")
        con.execute(f"""
            insert into identity.identifier_profiles
            select o.brand_id, o.id_type, o.value, rp.profile_id, any_value(c.profile_created_at), false
            from {OBSERVATIONS} as o
            join {IDENTIFIERS} as ident using (brand_id, id_type, value)
            join identity.record_profiles as rp using (source, brand_id, record_id)
            join (select profile_id, any_value(profile_created_at) as profile_created_at from identity.identifier_profiles
                  where links_profiles group by profile_id) as c using (profile_id)
            where not ident.links_profiles and ident.blocked_reason is null
            group by o.brand_id, o.id_type, o.value, rp.profile_id""")
        new_merges = f"""
            select m.profile_id, m.merged_profile_id, r.observed_at as merged_at, r.source as cause_source,
                r.record_id as cause_record_id, a.id_type || ':' || a.value as cause_anchor,
                n.id_type || ':' || n.value as cause_identifier, timestamptz '{now.isoformat()}' as detected_at
            from _merges_arrow as m
            left join _records as r on r.rec = m.rec
            left join _nodes as a on a.node = m.anchor
            left join _nodes as n on n.node = m.node"""
        if merges_before:
            # The log is history: earlier merges stay, and their survivors follow later merges.
            con.execute(f"""
                create or replace temp table _merge_log as
                select coalesce(later.profile_id, m.profile_id) as profile_id, m.* exclude (profile_id)
                from identity.profile_merges as m
                left join _merges_arrow as later on later.merged_profile_id = m.profile_id
                union all by name {new_merges}""")
        else:
            con.execute(f"create or replace temp table _merge_log as {new_merges}")
        con.execute("create or replace table identity.profile_merges as select * from _merge_log order by detected_at, merged_profile_id")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


# The rows (aliased `t`) of the records of the components an incremental resolution stitched again.
_STALE = ("exists (select 1 from identity.resolution_records as s where s.component in (select component from _dirty)"
          f" and {same_record('s', 't')})")


def _replace_changed_components(con: duckdb.DuckDBPyConnection, max_merge: int, approvals: str | None) -> None:
    """The rows of the dirty components' records and profiles give way to the stitched ones; appended records join."""
    con.execute(f"delete from identity.record_profiles as t where {_STALE}")
    con.execute("insert into identity.record_profiles select * from _rewritten_profiles")
    con.execute("""delete from identity.identifier_profiles where profile_id in
        (select profile_id from identity.resolution_profiles where component in (select component from _dirty))""")
    con.execute("insert into identity.identifier_profiles select * from _identifier_links")
    con.execute("insert into identity.identifier_profiles select * from _appended_identifiers")
    con.execute(f"delete from identity.merge_review as t where {_STALE}")
    con.execute("insert into identity.merge_review select * from _review_rows")
    con.execute(f"delete from identity.rejected_links as t where {_STALE}")
    con.execute("insert into identity.rejected_links select * from _rejected_rows")
    write_increment(con, max_merge, approvals)
