"""Erasure with Spark selected: `identity.erasures`, the erased members and the profile each had in this build.

The same table as erasure/redact.py writes on DuckDB (the marts leave those profiles out). Redacting the member's
rows in the Spark raw layer and deleting them from the Spark identity and incremental tables is not built yet
(docs/spark.md, "Erasure on Spark")."""

from __future__ import annotations

from pyspark.sql import SparkSession

ERASED_MEMBERS = """
    SELECT r.brand_id, r.user_id, max(r.requested_at) AS requested_at, {profile_id} AS profile_id
    FROM raw.app_erasure_requests AS r
    {join}
    GROUP BY r.brand_id, r.user_id"""
PROFILE_OF_USER = """LEFT JOIN identity.identifier_profiles AS p
        ON p.brand_id = r.brand_id AND p.id_type = 'user_id' AND p.value = CAST(r.user_id AS STRING)"""


def write_erasures(spark: SparkSession) -> tuple[int, int]:
    """Replace identity.erasures (Parquet tables cannot be replaced in place: the table is written under a new
    name, then swapped in); returns (erased members, their distinct profiles)."""
    if not spark.catalog.tableExists("raw.app_erasure_requests"):
        return 0, 0
    resolved = spark.catalog.tableExists("identity.identifier_profiles")
    members = spark.sql(ERASED_MEMBERS.format(
        profile_id="any_value(p.profile_id)" if resolved else "CAST(NULL AS STRING)", join=PROFILE_OF_USER if resolved else ""))
    spark.sql("CREATE DATABASE IF NOT EXISTS identity")
    spark.sql("DROP TABLE IF EXISTS identity.erasures__next")
    members.write.format("parquet").saveAsTable("identity.erasures__next")
    spark.sql("DROP TABLE IF EXISTS identity.erasures")
    spark.sql("ALTER TABLE identity.erasures__next RENAME TO identity.erasures")
    row = spark.sql("SELECT count(*), count(DISTINCT profile_id) FROM identity.erasures").collect()[0]
    return row[0], row[1]
