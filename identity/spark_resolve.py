"""Identity resolution on Spark: the same tables `identity.resolve.resolve` writes in DuckDB, row for row.

Reads the Spark table `intermediate.int_identity__links`; nothing of the graph is collected to the
driver. Records and identifiers are numbered in the same order as in DuckDB (a global sort, then
order-preserving ids), so every tie breaks the same way. Connected components are distributed
(identity.connected_components, rounds growing with the log of the diameter); the components where
a rule could fire are replayed one per group with identity.stitch's own rules (identity.component_replay);
stable ids come from the previous `identity.identifier_profiles`, and merges are appended to
`identity.profile_merges`. The five tables are replaced together (identity.spark_tables).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from identity.component_replay import CAUSE_SCHEMA, REPLAY_SCHEMA, merge_causes, replay_component
from identity.connected_components import connected_components
from identity.record_changes import CHANGES, NEXT_RESOLUTION, RESOLUTIONS, changes, empty_log, kept
from identity.resolve import ID_TYPES, IDENTIFIERS, LINKS, OBSERVATIONS, ResolveSummary
from identity.spark_tables import recover, replace_tables

DATABASE = "identity"
TABLES = ("identifier_profiles", "record_profiles", "profile_merges", "merge_review", "rejected_links", "resolutions",
          "record_profile_changes")
REGISTRY = f"{DATABASE}.identifier_profiles"
APPROVALS = "config.identity_merge_approvals"
MERGE_SCHEMA = "merged_profile_id string, profile_id string, rec long, anchor long, node long"


@dataclass
class SparkResolveSummary(ResolveSummary):
    rounds: int  # connected-components rounds (large-star + small-star), the last one confirming convergence


@dataclass
class LinkGraph:
    records: DataFrame  # source, brand_id, record_id, observed_at, rec (ordered as DuckDB numbers records)
    nodes: DataFrame  # brand_id, id_type, value, priority, max_per_profile, first_seen_at, node, type_code
    obs: DataFrame  # rec, node: one row per link row, repeats included (the review rule counts them)
    edges: DataFrame  # rec, anchor, node, priority: each record's strongest identifier to each other one
    record_anchor: DataFrame  # rec, anchor


def _numbered(frame: DataFrame, order: list[str], name: str) -> DataFrame:
    """Ids in the order of `order`: after a global sort, monotonically_increasing_id grows with it.
    Checkpointed, so a recomputation cannot renumber."""
    return frame.orderBy(*[F.col(c).asc_nulls_last() for c in order]).withColumn(
        name, F.monotonically_increasing_id()).localCheckpoint()


def load_graph(spark: SparkSession) -> LinkGraph:
    links = spark.table(LINKS)
    records = _numbered(links.groupBy("source", "brand_id", "record_id").agg(F.min("observed_at").alias("observed_at")),
                        ["observed_at", "source", "brand_id", "record_id"], "rec")
    type_code = F.array_position(F.array(*[F.lit(t) for t in ID_TYPES]), F.col("id_type")) - 1
    nodes = _numbered(links.groupBy("brand_id", "id_type", "value").agg(
        F.min("priority").alias("priority"), F.min("max_per_profile").alias("max_per_profile"),
        F.min("observed_at").alias("first_seen_at")), ["brand_id", "id_type", "value"], "node"
    ).withColumn("type_code", type_code.cast("long"))
    obs = (links.join(records, ["source", "brand_id", "record_id"]).join(nodes, ["brand_id", "id_type", "value"])
           .select("rec", "node").localCheckpoint())
    pairs = obs.distinct().join(nodes.select("node", "priority"), "node")
    record_anchor = pairs.groupBy("rec").agg(F.min_by("node", F.struct("priority", "node")).alias("anchor"))
    edges = (pairs.join(record_anchor, "rec").where(F.col("node") != F.col("anchor"))
             .select("rec", "anchor", "node", "priority").localCheckpoint())
    return LinkGraph(records=records, nodes=nodes, obs=obs, edges=edges, record_anchor=record_anchor.localCheckpoint())


def needs_replay(graph: LinkGraph, labels: DataFrame, max_merge: int) -> DataFrame:
    """Components where a rule could fire (as identity.stitch decides): a type over its limit, or a
    record holding more than max_merge identifiers seen before it."""
    typed = labels.join(graph.nodes.select("node", "type_code", "max_per_profile"), "node")
    over = (typed.groupBy("component", "type_code")
            .agg(F.count("*").alias("n"), F.min("max_per_profile").alias("limit"))
            .where(F.col("n") > F.col("limit")).select("component"))
    first_seen = graph.obs.groupBy("node").agg(F.min("rec").alias("first_rec"))
    crowded = (graph.obs.join(first_seen, "node").where(F.col("rec") > F.col("first_rec"))
               .groupBy("rec").count().where(F.col("count") > max_merge).select("rec"))
    crowded_components = graph.obs.join(crowded, "rec").join(labels, "node").select("component")
    return over.unionByName(crowded_components).distinct().localCheckpoint()


def _approved_records(spark: SparkSession, graph: LinkGraph) -> DataFrame:
    if not spark.catalog.tableExists(APPROVALS):
        return graph.records.select("rec").limit(0)
    return spark.table(APPROVALS).select("source", "record_id").join(graph.records, ["source", "record_id"]).select("rec")


def replay(spark: SparkSession, graph: LinkGraph, labels: DataFrame, flagged: DataFrame, max_merge: int) -> DataFrame:
    """Each flagged component replayed with the rules in its own group; rows as component_replay.REPLAY_SCHEMA."""
    n_types = len(ID_TYPES)
    rows = (graph.obs.join(labels, "node").join(flagged, "component")
            .join(graph.nodes.select("node", "priority", "type_code", "max_per_profile"), "node")
            .join(_approved_records(spark, graph).distinct().withColumn("approved", F.lit(True)), "rec", "left")
            .fillna(False, ["approved"]))

    def one_component(frame):
        return replay_component(frame, max_merge, n_types)

    return rows.groupBy("component").applyInPandas(one_component, REPLAY_SCHEMA).localCheckpoint()


def assign_ids(spark: SparkSession, graph: LinkGraph, node_profile: DataFrame, has_registry: bool) -> tuple[DataFrame, DataFrame]:
    """(profile_ids, claims): each profile's id, carried over from the registry or derived from its founder.

    The SQL is identity.resolve's; `replayed` before `profile` orders profiles as DuckDB numbers them."""
    profiles = spark.sql("""
        select p.profile, first(p.replayed) as replayed, first(n.brand_id) as brand_id, min(n.first_seen_at) as created_at,
            min_by(concat(n.id_type, ':', n.value), struct(n.first_seen_at, n.priority, n.value)) as founder,
            count(*) as size
        from {node_profile} as p join {nodes} as n using (node) group by p.profile""",
                         node_profile=node_profile, nodes=graph.nodes)
    if has_registry:
        claims = spark.sql(f"""
            select p.profile, r.profile_id as prev_id, min(r.profile_created_at) as prev_created_at, count(*) as overlap
            from {{node_profile}} as p join {{nodes}} as n using (node)
            join {REGISTRY} as r using (brand_id, id_type, value)
            where r.links_profiles
            group by p.profile, r.profile_id""", node_profile=node_profile, nodes=graph.nodes).localCheckpoint()
    else:
        claims = spark.createDataFrame([], "profile long, prev_id string, prev_created_at timestamp, overlap long")
    profile_ids = spark.sql("""
        with won as (  -- a previous id goes to the profile holding most of its identifiers (a split keeps it once)
            select c.*, row_number() over (partition by c.prev_id
                                           order by c.overlap desc, p.created_at, p.replayed, p.profile) = 1 as wins
            from {claims} as c join {profiles} as p using (profile)
        ),
        kept as (  -- a profile keeps the oldest previous id it won
            select profile, min_by(prev_id, struct(prev_created_at, prev_id)) as prev_id,
                min(prev_created_at) as prev_created_at
            from won where wins group by profile
        ),
        derived as (
            select p.*, k.prev_id, k.prev_created_at,
                concat('prof_', left(md5(concat(cast(p.brand_id as string), ':', p.founder)), 20)) as fresh_id
            from {profiles} as p left join kept as k using (profile)
        ),
        taken as (select distinct prev_id as taken_id from {claims})
        select d.profile, d.brand_id, d.size,
            coalesce(d.prev_id, case when t.taken_id is not null then concat('prof_', left(md5(concat(d.fresh_id, ':split')), 20))
                                     else d.fresh_id end) as profile_id,
            least(d.created_at, coalesce(d.prev_created_at, d.created_at)) as profile_created_at
        from derived as d left join taken as t on t.taken_id = d.fresh_id""", claims=claims, profiles=profiles)
    return profile_ids.localCheckpoint(), claims


def find_merges(spark: SparkSession, graph: LinkGraph, node_profile: DataFrame, profile_ids: DataFrame,
                claims: DataFrame, unmade: DataFrame) -> DataFrame:
    """Previous ids absorbed into an older one, with the first applied link that joined them (MERGE_SCHEMA).

    Profiles sharing a previous id are resolved together (the union-find starts from the previous
    profiles), so they are grouped by connected components over shared previous ids first."""
    retired = spark.sql("""
        select c.profile, c.prev_id, c.prev_created_at, i.profile_id as survivor
        from {claims} as c join {profile_ids} as i using (profile)
        where c.prev_id <> i.profile_id and c.prev_id not in (select profile_id from {profile_ids})""",
                        claims=claims, profile_ids=profile_ids).localCheckpoint()
    if retired.isEmpty():
        return spark.createDataFrame([], MERGE_SCHEMA)
    scope = retired.select("profile").distinct()
    scope_claims = claims.join(scope, "profile")
    hub = scope_claims.groupBy("prev_id").agg(F.min("profile").alias("hub"))
    groups = connected_components(scope_claims.join(hub, "prev_id").select(F.col("hub").alias("a"), F.col("profile").alias("b")),
                                  scope.select(F.col("profile").alias("node"))).labels.select(
        F.col("node").alias("profile"), F.col("component").alias("grp"))
    previous = spark.sql(f"""
        select g.grp, n.node, c.prev_created_at, c.prev_id, x.retired_id is not null as retired
        from {{node_profile}} as p join {{groups}} as g using (profile) join {{nodes}} as n using (node)
        join {REGISTRY} as r using (brand_id, id_type, value)
        join {{claims}} as c on c.profile = p.profile and c.prev_id = r.profile_id
        left join (select distinct prev_id as retired_id from {{retired}}) as x on x.retired_id = c.prev_id
        where r.links_profiles""", node_profile=node_profile, groups=groups, nodes=graph.nodes, claims=claims,
                         retired=retired).localCheckpoint()
    applied = (graph.edges.join(unmade, ["rec", "node"], "left_anti")
               .join(node_profile.select(F.col("node").alias("anchor"), "profile"), "anchor").join(groups, "profile")
               .select("grp", "rec", "anchor", "node", "priority").localCheckpoint())  # own lineage: cogroup needs two
    causes = applied.groupBy("grp").cogroup(previous.groupBy("grp")).applyInPandas(
        lambda links, prev: merge_causes(links, prev), CAUSE_SCHEMA)
    return retired.join(causes, "prev_id", "left").select(
        F.col("prev_id").alias("merged_profile_id"), F.col("survivor").alias("profile_id"), "rec", "anchor", "node")


def output_tables(spark: SparkSession, graph: LinkGraph, node_profile: DataFrame, profile_ids: DataFrame,
                  merges: DataFrame, replayed: DataFrame, now: datetime, has_merge_log: bool) -> dict[str, DataFrame]:
    """The five identity tables, as identity.resolve._write builds them."""
    frames = {"records": graph.records, "nodes": graph.nodes, "node_profile": node_profile, "profile_ids": profile_ids}
    record_profiles = spark.sql("""
        select r.source, r.brand_id, r.record_id, r.observed_at, i.profile_id, n.id_type as matched_by
        from {record_anchor} as a
        join {records} as r using (rec)
        join {node_profile} as p on p.node = a.anchor
        join {nodes} as n on n.node = a.anchor
        join {profile_ids} as i using (profile)""", record_anchor=graph.record_anchor, **frames).localCheckpoint()
    identifier_profiles = spark.sql(f"""
        select n.brand_id, n.id_type, n.value, i.profile_id, i.profile_created_at, true as links_profiles
        from {{nodes}} as n join {{node_profile}} as p using (node) join {{profile_ids}} as i using (profile)
        union all
        -- Weak identifiers (card last 4) join the profile of the record they were seen on.
        select o.brand_id, o.id_type, o.value, rp.profile_id, any_value(i.profile_created_at), false
        from {OBSERVATIONS} as o
        join {IDENTIFIERS} as ident using (brand_id, id_type, value)
        join {{record_profiles}} as rp using (source, brand_id, record_id)
        join {{profile_ids}} as i using (profile_id)
        where not ident.links_profiles and ident.blocked_reason is null
        group by o.brand_id, o.id_type, o.value, rp.profile_id""", record_profiles=record_profiles, **frames)
    detected = now.astimezone(UTC).isoformat()
    new_merges = spark.sql(f"""
        select m.profile_id, m.merged_profile_id, r.observed_at as merged_at, r.source as cause_source,
            r.record_id as cause_record_id, concat(a.id_type, ':', a.value) as cause_anchor,
            concat(n.id_type, ':', n.value) as cause_identifier, cast('{detected}' as timestamp) as detected_at
        from {{merges}} as m
        left join {{records}} as r on r.rec = m.rec
        left join {{nodes}} as a on a.node = m.anchor
        left join {{nodes}} as n on n.node = m.node""", merges=merges, **frames)
    merge_log = new_merges
    if has_merge_log:
        # The log is history: earlier merges stay, and their survivors follow later merges.
        merge_log = spark.sql(f"""
            select coalesce(later.profile_id, m.profile_id) as profile_id, m.merged_profile_id, m.merged_at,
                m.cause_source, m.cause_record_id, m.cause_anchor, m.cause_identifier, m.detected_at
            from {DATABASE}.profile_merges as m
            left join {{merges}} as later on later.merged_profile_id = m.profile_id""", merges=merges).unionByName(new_merges)
    merge_review = spark.sql("""
        select r.source, r.brand_id, r.record_id, r.observed_at,
            array_sort(collect_set(i.profile_id)) as matched_profile_ids,
            count(distinct i.profile_id) as matched_profiles,
            'pending' as status
        from {review} as v
        join {records} as r using (rec)
        join {node_profile} as p using (node)
        join {profile_ids} as i using (profile)
        group by r.source, r.brand_id, r.record_id, r.observed_at""",
                             review=replayed.where("kind = 'review'").select("rec", "node"), **frames)
    types = ", ".join(f"'{t}'" for t in ID_TYPES)
    rejected_links = spark.sql(f"""
        select r.source, r.brand_id, r.record_id, r.observed_at, n.id_type, n.value,
            i.profile_id as kept_in_profile_id, concat('limit_', element_at(array({types}), cast(v.value as int) + 1)) as reason
        from {{rejected}} as v
        join {{records}} as r using (rec)
        join {{nodes}} as n using (node)
        join {{node_profile}} as p using (node)
        join {{profile_ids}} as i using (profile)""", rejected=replayed.where("kind = 'rejected'"), **frames)
    return {"identifier_profiles": identifier_profiles, "record_profiles": record_profiles, "profile_merges": merge_log,
            "merge_review": merge_review, "rejected_links": rejected_links,
            **resolution_log(spark, record_profiles, now)}


def resolution_log(spark: SparkSession, record_profiles: DataFrame, now: datetime) -> dict[str, DataFrame]:
    """identity.resolutions and identity.record_profile_changes with this resolution and its changes logged, as
    identity.record_changes.log_resolution logs them."""
    previous = f"{DATABASE}.record_profiles"
    has_log = spark.catalog.tableExists(RESOLUTIONS)
    resolution = spark.sql(NEXT_RESOLUTION).first()[0] if has_log else 1
    log = spark.table(CHANGES) if has_log else spark.sql(empty_log("{record_profiles}"), record_profiles=record_profiles)
    changed = (spark.sql(changes(previous, "{record_profiles}", resolution), record_profiles=record_profiles).localCheckpoint()
               if spark.catalog.tableExists(previous) else log.limit(0))
    resolutions = spark.createDataFrame(
        [(resolution, now, changed.count(), True)],
        "resolution bigint, resolved_at timestamp, changed_records bigint, changes_kept boolean")
    if has_log:
        resolutions = spark.sql(f"""select resolution, resolved_at, changed_records, changes_kept and {kept(resolution)}
            as changes_kept from {RESOLUTIONS}""").unionByName(resolutions)
    return {"resolutions": resolutions, "record_profile_changes": log.where(kept(resolution)).unionByName(changed)}


def resolve(spark: SparkSession, *, max_merge: int = 3, now: datetime | None = None) -> SparkResolveSummary:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    recover(spark, DATABASE, TABLES)  # the registry must be whole before it is read
    graph = load_graph(spark)
    components = connected_components(graph.edges.select(F.col("anchor").alias("a"), F.col("node").alias("b")), graph.nodes)
    labels = components.labels.localCheckpoint()
    flagged = needs_replay(graph, labels, max_merge)
    replayed = replay(spark, graph, labels, flagged, max_merge)
    node_profile = labels.join(flagged, "component", "left_anti").select(
        "node", F.col("component").alias("profile"), F.lit(False).alias("replayed")).unionByName(
        replayed.where("kind = 'root'").select("node", F.col("value").alias("profile"), F.lit(True).alias("replayed"))
    ).localCheckpoint()
    has_registry = spark.catalog.tableExists(REGISTRY)
    profile_ids, claims = assign_ids(spark, graph, node_profile, has_registry)
    unmade = replayed.where("kind = 'unmade'").select("rec", "node")
    merges = (find_merges(spark, graph, node_profile, profile_ids, claims, unmade) if has_registry
              else spark.createDataFrame([], MERGE_SCHEMA)).localCheckpoint()
    frames = output_tables(spark, graph, node_profile, profile_ids, merges, replayed, now,
                           spark.catalog.tableExists(f"{DATABASE}.profile_merges"))
    replace_tables(spark, DATABASE, frames)
    figures = spark.sql("""select count(*), coalesce(max(size), 0) from {profile_ids}""", profile_ids=profile_ids).first()
    return SparkResolveSummary(
        records=graph.records.count(), identifiers=graph.nodes.count(), profiles=figures[0], merges=merges.count(),
        review_queue=spark.table(f"{DATABASE}.merge_review").count(),
        rejected_links=spark.table(f"{DATABASE}.rejected_links").count(), largest_profile=figures[1],
        replayed_components=flagged.count(), seconds=round(time.perf_counter() - started, 3),
        scope="everything (on Spark every build resolves every component)", records_hashed=None,
        rounds=components.rounds)
