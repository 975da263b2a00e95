"""Identity resolution as Dagster assets: the identity.* tables and the super-node alarm."""

from collections.abc import Callable

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets import OWNER
from assets.dbt_models import synergy_dbt_models
from engine.settings import engine
from identity.resolve import resolve
from orchestration.resources import WarehouseResource

IDENTITY_TABLES = {
    "identifier_profiles": "Every identifier (normalized) with the profile it belongs to; the registry that keeps ids stable.",
    "record_profiles": "Every source record (event, user row, export row, webhook) with the profile it belongs to and "
                       "the identifier type that tied it (its strongest).",
    "resolutions": "One row per resolution, numbered: when, how many records it changed, whether its changes are kept.",
    "record_profile_changes": "The records each of the last 30 resolutions added, removed or gave another profile; "
                              "incremental models follow it.",
    "profile_merges": "History of merges: surviving (oldest) id, merged id, the record and identifier that caused it, when.",
    "merge_review": "Records that would merge more than three existing profiles; held back until approved.",
    "rejected_links": "Links not made because the merged profile would exceed a per-type limit (the weaker identifier is dropped).",
}
LARGEST_PROFILE_WITHIN_BOUND = "largest_profile_within_bound"
# What resolution reads; keys come from the dbt manifest so they follow the dbt schemas.
UPSTREAM = [get_asset_key_for_model([synergy_dbt_models], name) for name in (
    "int_identity__links", "int_identity__observations", "int_identity__identifiers", "identity_merge_approvals")]


def _figures(query: Callable[[str], list[tuple]]) -> tuple[dict[str, int], dict[str, int]]:
    """Profile size distribution and row counts, in SQL both engines read the same way."""
    sizes = dict(query("""
        select bucket, count(*) from (
            select case when n = 1 then '1' when n <= 3 then '2-3' when n <= 10 then '4-10' else '>10' end as bucket
            from (select profile_id, count(*) as n from identity.identifier_profiles group by profile_id) as per_profile
        ) as buckets
        group by bucket order by 1"""))
    counts = {name: query(f"select count(*) from identity.{name}")[0][0] for name in IDENTITY_TABLES}
    return sizes, counts


class IdentityConfig(dg.Config):
    max_merge_profiles: int = 3  # a record touching more existing profiles goes to review
    super_node_bound: int = 50  # a profile with more identifiers than this is almost surely a bad link
    # Stitch every component again rather than those the build's changes touch (the result is the same; DuckDB).
    full_resolution: bool = False


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["identity", name], description=text, group_name="identity", owners=[OWNER], kinds={"python", "duckdb"},
            deps=UPSTREAM,
            skippable=False,
        )
        for name, text in IDENTITY_TABLES.items()
    ],
    check_specs=[dg.AssetCheckSpec(
        LARGEST_PROFILE_WITHIN_BOUND, asset=["identity", "identifier_profiles"],
        description="Super-node alarm: the largest profile holds at most super_node_bound identifiers.")],
    pool="warehouse",
    name="identity_resolution",
)
def identity_resolution(context: dg.AssetExecutionContext, config: IdentityConfig, warehouse: WarehouseResource):
    """Stitch identifier links into profiles with stable ids (identity.stitch, identity.resolve), on the selected engine."""
    if engine() == "spark":
        from engine.spark import build_session
        from identity.spark_resolve import resolve as resolve_on_spark

        spark = build_session()
        summary = resolve_on_spark(spark, max_merge=config.max_merge_profiles)
        sizes, counts = _figures(lambda sql: [tuple(row) for row in spark.sql(sql).collect()])
    else:
        with warehouse.connect() as con:
            summary = resolve(con, max_merge=config.max_merge_profiles, incremental=not config.full_resolution)
            sizes, counts = _figures(lambda sql: con.execute(sql).fetchall())
    context.log.info(f"identity resolution: {summary}")
    shared = {
        "profiles": summary.profiles,
        "identifiers": summary.identifiers,
        "records": summary.records,
        "merges_this_build": summary.merges,
        "review_queue": summary.review_queue,
        "rejected_links": summary.rejected_links,
        "largest_profile": summary.largest_profile,
        "components_replayed_with_rules": summary.replayed_components,
        "resolve_seconds": summary.seconds,
        "stitched": summary.scope,
        "records_hashed": summary.records_hashed,
    }
    for name in IDENTITY_TABLES:
        metadata = {"dagster/row_count": counts[name], "table": f"identity.{name}"}
        if name == "identifier_profiles":
            metadata |= shared | {"profile_size_distribution": dg.MetadataValue.json(sizes)}
        yield dg.MaterializeResult(asset_key=["identity", name], metadata=metadata)
    yield dg.AssetCheckResult(
        asset_key=["identity", "identifier_profiles"], check_name=LARGEST_PROFILE_WITHIN_BOUND,
        passed=summary.largest_profile <= config.super_node_bound,
        metadata={"largest_profile": summary.largest_profile, "bound": config.super_node_bound},
    )
