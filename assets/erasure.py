"""The erasure step: after identity resolution, every erased member is redacted across the warehouse."""

import dagster as dg

from assets import OWNER
from assets.identity import IDENTITY_TABLES
from engine.settings import engine
from erasure.compact import compact, due
from erasure.redact import RedactionSummary, redact_erased
from ingestion.sources import ERASURE_REQUESTS
from orchestration.resources import WarehouseResource


class ErasureConfig(dg.Config):
    # Redacted values stay in the warehouse file's freed blocks until it is compacted (a full copy of the
    # file): at the latest this many days after a redaction. 0 compacts after every build that redacted.
    compact_after_days: float = 7


@dg.asset(
    key=["identity", "erasures"],
    description="Members with an erasure request and the profile they had; their rows are redacted in raw, staging, "
                "identity and quarantine tables (erasure/redact.py) before the marts are built.",
    group_name="identity",
    owners=[OWNER],
    kinds={"python", "duckdb"},
    deps=[["raw", ERASURE_REQUESTS.name], *(["identity", name] for name in IDENTITY_TABLES)],
    pool="warehouse",
)
def erasures(context: dg.AssetExecutionContext, config: ErasureConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    if engine() == "spark":
        return erasures_on_spark(context)
    with warehouse.connect() as con:
        summary = redact_erased(con)
        compaction_due = due(con, config.compact_after_days)
    context.log.info(f"erasure: {summary}")
    compacted = compact(warehouse.paths.warehouse) if compaction_due else {}
    if compacted:
        context.log.info(f"warehouse compacted: {compacted}")
    return dg.MaterializeResult(metadata={"warehouse_compacted": bool(compacted), **compacted, **summary_metadata(summary)})


def summary_metadata(summary: RedactionSummary) -> dict:
    return {
        "dagster/row_count": summary.erased_members,
        "erased_profiles_this_build": summary.erased_profiles,
        "rows_redacted_this_build": summary.rows_redacted,
        "raw_rows_redacted": dg.MetadataValue.json(summary.raw_rows_redacted),
        "referral_sides_redacted": summary.referral_sides_redacted,
        "derived_rows_deleted": dg.MetadataValue.json(summary.derived_rows_deleted),
        "quarantined_rows_redacted": summary.quarantined_rows_redacted,
    }


def erasures_on_spark(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """identity.erasures and the redaction of the members' rows, as on DuckDB, in Spark's files (erasure/spark_redact.py)."""
    from engine.settings import SparkSettings
    from engine.spark import build_session
    from erasure.spark_redact import redact_erased_spark

    summary = redact_erased_spark(build_session(), SparkSettings.from_env().warehouse)
    context.log.info(f"erasure on Spark: {summary}")
    return dg.MaterializeResult(metadata={**summary_metadata(summary), "redacted": True})
