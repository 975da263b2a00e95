"""Erasure redaction with Spark selected: the same outcome as erasure/redact.py on DuckDB, over Spark's files.

What is redacted is erasure/redact.py's, from the same definitions (which raw rows, which columns they keep, which
derived rows go, which quarantined rows lose their text), run as Spark SQL:

- each source's stored rows of the raw layer (`rows/<source>/`, committed or not: no value stays on disk) keep
  their key and lineage, `_batch` included, and lose every other value; `_erased_at` marks them. Referrals lose
  the erased side only;
- the raw layer's quarantined rows of the member lose `raw` and `detail`;
- the incremental and identity tables lose the member's rows.

Spark has no transaction across tables and Parquet files cannot be updated, so every relation with something to
redact is written again, redacted, beside its folder; one journal file is the commit point; then each folder is
swapped for its copy (erasure/folder_swap.py). A crash before the journal leaves the old data whole (the next run
redoes the work); after it, the next run (or any Spark session opening the warehouse) finishes the swap. A rerun
finds nothing left to redact and rewrites nothing. Only counts reach the driver.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame, SparkSession

from erasure import folder_swap
from erasure.folder_swap import Swap
from erasure.redact import (DERIVED_ROWS, DIGESTED_KEYS, ERASED_EVENTS, EXPORTS, LINEAGE, NO_ERASED_EVENTS,
                            OBSERVATIONS, QUARANTINED_OF_ERASED, RAW_ROWS, REFERRAL_SIDES, RedactionSummary, erased_sets)
from ingestion.durable import write_atomically
from ingestion.sources import ALL_SOURCES, REFERENCE
from ingestion.spark_store import BATCH, STORE_DB, SparkStore, store_root

JOURNAL = Path("synergy_erasure") / "journal.json"  # in the Spark warehouse directory
# Which identity tables the last finished redaction left: identity.erasures keeps the profiles it wrote then for as
# long as those tables are the same build's (a rerun of the step), where recomputing would find them deleted.
REDACTED_BUILD = Path("synergy_erasure") / "redacted_build.json"
PROFILES = "identity.identifier_profiles"
SOURCE_OF_TABLE = {source.table: source for source in ALL_SOURCES}
REFERRALS = REFERENCE["referrals"]
# The few DuckDB functions of the shared definitions, as Spark spells them.
SPARK_SPELLINGS = {
    "json_valid(q.raw)": "try_parse_json(q.raw) IS NOT NULL",
    "json_extract_string(": "get_json_object(",
    "list_has_any(d.matched_profile_ids, (SELECT coalesce(list(profile_id), []) FROM _erased_profiles))":
        "arrays_overlap(d.matched_profile_ids, (SELECT collect_list(profile_id) FROM _erased_profiles))",
}


def spark_sql(sql: str) -> str:
    for duckdb_spelling, spark_spelling in SPARK_SPELLINGS.items():
        sql = sql.replace(duckdb_spelling, spark_spelling)
    return sql


def journal_path(warehouse: Path) -> Path:
    return warehouse / JOURNAL


def finish_interrupted(warehouse: Path) -> list[str]:
    """Finish a redaction that a crash interrupted after its commit point; returns the tables swapped. Pure file
    operations: a session that opens afterwards lists the new files, an open one must refresh those tables."""
    record = warehouse / REDACTED_BUILD
    swaps = folder_swap.finish(journal_path(warehouse), lambda note: write_atomically(record, json.dumps(note).encode()))
    return [swap.table for swap in swaps]


def _data_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(("_", "."))) if folder.is_dir() else []


def _same_build_as_redacted(spark: SparkSession, warehouse: Path) -> bool:
    """Whether the identity tables are still the ones the last finished redaction left (this is a rerun)."""
    record = warehouse / REDACTED_BUILD
    if not record.exists() or not _is_table(spark, PROFILES):
        return False
    return json.loads(record.read_text())["identity_files"] == _data_files(_Rewrite(spark, PROFILES).swap.folder)


def _hit(condition: str) -> str:
    return f"coalesce(({condition}), false)"


class _Rewrite:
    """A relation to write again: its Spark table, its schema, and the swap of its folder for the copy."""

    def __init__(self, spark: SparkSession, table: str):
        self.table = table
        described = {row[0]: row[1] for row in spark.sql(f"DESCRIBE TABLE EXTENDED {table}").collect()}
        if described.get("Provider", "").lower() != "parquet" or any(c.isPartition for c in spark.catalog.listColumns(table)):
            raise RuntimeError(f"{table}: erasure rewrites unpartitioned Parquet tables only")
        self.swap = Swap(Path(unquote(urlparse(described["Location"]).path)), table)
        self.schema = spark.table(table).schema

    def columns(self, alias: str, replaced: dict[str, str]) -> str:
        """Every column of the table, in order, from `alias` unless `replaced` gives its expression."""
        return ", ".join(f"{replaced[f.name]} AS `{f.name}`" if f.name in replaced else f"{alias}.`{f.name}`"
                         for f in self.schema.fields)

    def null(self, name: str) -> str:
        return f"CAST(NULL AS {self.schema[name].dataType.simpleString()})"


def _raw_rows(spark: SparkSession, raw_table: str, table: str, kept: tuple[str, ...], erased: str,
              now: datetime) -> tuple[_Rewrite, DataFrame, str]:
    """`table`: where the raw layer stores the rows of `raw_table` (all batches, committed or not). Like each
    relation's function here: its rewrite, its rows as they are to be, and a query counting what changes (`n`)."""
    rewrite = _Rewrite(spark, table)
    hit = f"m._erased_at IS NULL AND {_hit(spark_sql(erased))}"
    stays = set(kept) | set(LINEAGE) | {BATCH}
    replaced = {f.name: rewrite.null(f.name) for f in rewrite.schema.fields if f.name not in stays}
    if raw_table in DIGESTED_KEYS:
        key = DIGESTED_KEYS[raw_table]
        replaced[key] = f"'erased:' || md5(m.`{key}`)"
    replaced["_erased_at"] = ":now"
    redacted = spark.sql(f"SELECT {rewrite.columns('m', replaced)} FROM {table} AS m WHERE {hit}", args={"now": now})
    frame = spark.sql(f"SELECT * FROM {table} AS m WHERE NOT ({hit})").unionByName(redacted)
    return rewrite, frame, f"SELECT count(*) AS n FROM {table} AS m WHERE {hit}"


def _referrals(spark: SparkSession, table: str) -> tuple[_Rewrite, DataFrame, str]:
    rewrite = _Rewrite(spark, table)
    joins = "".join(f" LEFT JOIN (SELECT DISTINCT user_id FROM _erased_members) AS `{side}` ON `{side}`.user_id = m.`{side}`"
                    for side in REFERRAL_SIDES)
    replaced = {column: f"CASE WHEN `{side}`.user_id IS NULL THEN m.`{column}` END"
                for side, cleared in REFERRAL_SIDES.items() for column in cleared}
    frame = spark.sql(f"SELECT {rewrite.columns('m', replaced)} FROM {table} AS m{joins}")
    sides = " + ".join(f"count(`{side}`.user_id)" for side in REFERRAL_SIDES)
    return rewrite, frame, f"SELECT {sides} AS n FROM {table} AS m{joins}"


def _quarantine(spark: SparkSession, table: str) -> tuple[_Rewrite, DataFrame, str]:
    rewrite = _Rewrite(spark, table)
    hit = _hit(spark_sql(QUARANTINED_OF_ERASED))
    redacted = spark.sql(f"SELECT {rewrite.columns('q', {c: rewrite.null(c) for c in ('raw', 'detail')})} "
                         f"FROM {table} AS q WHERE {hit}")
    frame = spark.sql(f"SELECT * FROM {table} AS q WHERE NOT {hit}").unionByName(redacted)
    return rewrite, frame, f"SELECT count(*) AS n FROM {table} AS q WHERE {hit}"


def _derived_rows(spark: SparkSession, table: str, erased: str) -> tuple[_Rewrite, DataFrame, str]:
    rewrite = _Rewrite(spark, table)
    hit = _hit(spark_sql(erased))
    frame = spark.sql(f"SELECT * FROM {table} AS d WHERE NOT {hit}")
    return rewrite, frame, f"SELECT count(*) AS n FROM {table} AS d WHERE {hit}"


def _erasures(spark: SparkSession, same_build: bool) -> tuple[_Rewrite, DataFrame, str]:
    """identity.erasures, as on DuckDB: the erased members and the profile each had before their rows went. In the
    same commit as the redaction; kept as it is on a rerun over the same identity tables (`same_build`), whose
    erased profiles are gone by then."""
    spark.sql("CREATE DATABASE IF NOT EXISTS identity")
    spark.sql("CREATE TABLE IF NOT EXISTS identity.erasures USING parquet AS SELECT * FROM _erased_members LIMIT 0")
    rewrite = _Rewrite(spark, "identity.erasures")
    frame = spark.sql("SELECT * FROM _erased_members")
    if same_build:
        return rewrite, frame, "SELECT CAST(0 AS BIGINT) AS n"
    return rewrite, frame, """SELECT count(*) AS n FROM (
        (SELECT * FROM identity.erasures EXCEPT ALL SELECT * FROM _erased_members)
        UNION ALL (SELECT * FROM _erased_members EXCEPT ALL SELECT * FROM identity.erasures)) AS differences"""


def _is_table(spark: SparkSession, name: str) -> bool:
    return spark.catalog.tableExists(name) and spark.catalog.getTable(name).tableType != "VIEW"


def _erased_sets(spark: SparkSession) -> list[DataFrame]:
    """The temp views naming what is erased (erasure/redact.py's sets), cached: every relation's rewrite reads them."""
    present = {name for name in ("identity.identifier_profiles", "identity.record_profiles", *OBSERVATIONS)
               if _is_table(spark, name)} | {name for name in (EXPORTS,) if spark.catalog.tableExists(name)}
    sets = erased_sets(present)
    action_logs = RAW_ROWS["raw.app_action_logs"][1]
    # The action-log rows redacted before and by this run (DuckDB reads them after its UPDATE). Every set is
    # spelled as Spark spells it below.
    sets["_erased_events"] = (ERASED_EVENTS.format(erased=f"m._erased_at IS NOT NULL OR {_hit(action_logs)}")
                              if spark.catalog.tableExists("raw.app_action_logs") else NO_ERASED_EVENTS)
    cached = []
    for name, sql in sets.items():
        cached.append(spark.sql(spark_sql(sql)).cache())
        cached[-1].createOrReplaceTempView(name)
    return cached


def _counts(spark: SparkSession, relations: Collection[tuple[_Rewrite, DataFrame, str]]) -> list[int]:
    """Each relation's count of rows that change, in one query: one planning and one round trip instead of one per
    relation, and Spark runs the independent scans side by side."""
    union = " UNION ALL ".join(f"SELECT {i} AS i, n FROM ({count}) AS c{i}" for i, (_, _, count) in enumerate(relations))
    counted = dict(spark.sql(union).collect())
    return [counted[i] for i in range(len(relations))]


def redact_erased_spark(spark: SparkSession, warehouse: Path, store: SparkStore | None = None,
                        now: datetime | None = None) -> RedactionSummary:
    """Redact every erased member in the raw layer, its quarantine, and the identity and incremental tables (see the
    module's doc); `warehouse` is the Spark SQL warehouse directory, which holds the journal."""
    now = now or datetime.now(UTC)
    store = store or SparkStore(store_root(warehouse))
    summary = RedactionSummary()
    for table in finish_interrupted(warehouse):  # build_session finishes it first; a session opened before may not
        spark.catalog.refreshTable(table)
    if not spark.catalog.tableExists("raw.app_erasure_requests"):
        return summary
    cached = _erased_sets(spark)
    try:
        summary.erased_members, summary.erased_profiles = spark.sql(
            "SELECT count(*), count(DISTINCT profile_id) FROM _erased_members").collect()[0]
        _redact(spark, store, summary, now, warehouse)
    finally:
        for frame in cached:
            frame.unpersist()
    return summary


def _redact(spark: SparkSession, store: SparkStore, summary: RedactionSummary, now: datetime, warehouse: Path) -> None:
    """Write every relation with something to redact again beside itself, commit, swap (adds to `summary`)."""
    # Each relation by the summary's field (and key) its count goes to.
    relations: dict[tuple[str | None, str | None], tuple[_Rewrite, DataFrame, str]] = {}
    for table, (kept, erased) in RAW_ROWS.items():
        stored = store.rows_table(SOURCE_OF_TABLE[table])
        if spark.catalog.tableExists(stored):
            relations["raw_rows_redacted", table] = _raw_rows(spark, table, stored, kept, erased, now)
    if spark.catalog.tableExists(store.rows_table(REFERRALS)):
        relations["referral_sides_redacted", None] = _referrals(spark, store.rows_table(REFERRALS))
    if spark.catalog.tableExists(f"{STORE_DB}.quarantine"):
        relations["quarantined_rows_redacted", None] = _quarantine(spark, f"{STORE_DB}.quarantine")
    for table, erased in DERIVED_ROWS.items():
        if _is_table(spark, table):
            relations["derived_rows_deleted", table] = _derived_rows(spark, table, erased)
    relations[None, None] = _erasures(spark, _same_build_as_redacted(spark, warehouse))
    rewrites: list[tuple[_Rewrite, DataFrame]] = []
    for ((field, key), (rewrite, frame, _)), changed in zip(relations.items(), _counts(spark, relations.values())):
        if key is not None:
            getattr(summary, field)[key] = changed
        elif field is not None:
            setattr(summary, field, changed)
        shutil.rmtree(rewrite.swap.copy, ignore_errors=True)  # a copy a crash before the commit point left
        if changed:
            rewrites.append((rewrite, frame))
    if not rewrites:
        return
    for rewrite, frame in rewrites:
        frame.write.mode("overwrite").parquet(str(rewrite.swap.copy))
    swaps = [rewrite.swap for rewrite, _ in rewrites]
    note = {"identity_files": []}  # the identity build this redaction leaves (REDACTED_BUILD)
    if _is_table(spark, PROFILES):
        rewritten = next((swap.copy for swap in swaps if swap.table == PROFILES), None)
        note["identity_files"] = _data_files(rewritten or _Rewrite(spark, PROFILES).swap.folder)
    folder_swap.commit(journal_path(warehouse), swaps, note)
    finish_interrupted(warehouse)
    for rewrite, _ in rewrites:
        spark.catalog.refreshTable(rewrite.table)
