"""Identity resolution on a real Spark cluster equals the DuckDB resolution of the same links, row for
row, on a first build and on later ones (merges, stable ids, review, approvals, rejected links); its
connected components take a number of rounds that grows with the log of the diameter."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from benchmarks import identity_links
import identity.spark_resolve
import identity.spark_tables
from identity.connected_components import connected_components
from identity.resolve import resolve as resolve_in_duckdb
from identity.spark_resolve import TABLES, resolve as resolve_on_spark
from tests.identity.links import add_observations, observation as o
from pyspark.sql import functions as F

from tests.spark.tables import copy_from_duckdb, duckdb_rows, spark_rows

# Each test resolves on a real cluster several times: minutes, not seconds.
pytestmark = pytest.mark.slow

INPUTS = ["intermediate.int_identity__links", "intermediate.int_identity__observations",
          "intermediate.int_identity__identifiers"]
APPROVALS = "config.identity_merge_approvals"


@pytest.fixture
def clean_spark(spark):
    """The identity databases empty, as on a new warehouse."""
    for database in ("intermediate", "identity", "config"):
        spark.sql(f"drop database if exists {database} cascade")
    return spark


def resolve_both(spark, path: Path, now: datetime, inputs: list[str] = INPUTS):
    copy_from_duckdb(spark, path, inputs)
    with duckdb.connect(str(path)) as con:
        expected = resolve_in_duckdb(con, now=now)
    return expected, resolve_on_spark(spark, now=now)


def assert_same_tables(spark, path: Path, tables: tuple[str, ...] = TABLES) -> None:
    for name in tables:
        ours, theirs = spark_rows(spark, f"identity.{name}"), duckdb_rows(path, f"identity.{name}")
        assert ours[0] == theirs[0], f"identity.{name} columns"
        assert ours[1] == theirs[1], (f"identity.{name}: only on Spark {list((ours[1] - theirs[1]).items())[:5]}, "
                                      f"only in DuckDB {list((theirs[1] - ours[1]).items())[:5]}")


def same_counts(expected, summary) -> bool:
    fields = ("records", "identifiers", "profiles", "merges", "review_queue", "rejected_links", "largest_profile",
              "replayed_components")
    return all(getattr(expected, f) == getattr(summary, f) for f in fields)


def test_generated_links_resolve_to_the_same_tables(clean_spark, tmp_path):
    path = tmp_path / "links.duckdb"
    with duckdb.connect(str(path)) as con:
        identity_links.write(con, identity_links.generate(3_000, seed=5))
    expected, summary = resolve_both(clean_spark, path, datetime(2026, 12, 1, tzinfo=UTC))
    # The sample exercises the rules: members meeting on a shared device and a chain of 1,000 cookies, which the
    # cookie limit cuts (both limit rules), in components replayed with the rules.
    assert expected.rejected_links > 0 and expected.replayed_components > 0
    assert same_counts(expected, summary), (expected, summary)
    assert_same_tables(clean_spark, path)
    assert summary.rounds <= math.log2(expected.identifiers) + 2  # the chain is the diameter, below the node count


DAY1 = [
    o("e1", "2026-11-01 09:00:00+00", "cookie_id", "ck_anon"),
    o("e2", "2026-11-01 10:00:00+00", "user_id", "1"), o("e2", "2026-11-01 10:00:00+00", "device_id", "dev_1"),
    o("e3", "2026-11-01 11:00:00+00", "user_id", "2"), o("e3", "2026-11-01 11:00:00+00", "email", "two@x.com"),
    o("e5", "2026-11-01 13:00:00+00", "user_id", "1"), o("e5", "2026-11-01 13:00:00+00", "card_last4", "4242"),
    o("e6", "2026-11-01 14:00:00+00", "user_id", "2"), o("e6", "2026-11-01 14:00:00+00", "card_last4", "4242"),
    *[o(f"c{i}", f"2026-11-01 0{i}:30:00+00", "cookie_id", f"ck_{i}") for i in range(4)],
    # Member 3 with six devices: the sixth is over the limit of five.
    *[row for d in range(6) for row in (o(f"m3d{d}", f"2026-11-01 15:0{d}:00+00", "user_id", "3"),
                                        o(f"m3d{d}", f"2026-11-01 15:0{d}:00+00", "device_id", f"dev_3_{d}"))],
    *[o("b2", "2026-11-01 16:00:00+00", "user_id", "9", brand_id=2), o("b2", "2026-11-01 16:00:00+00", "email", "two@x.com", brand_id=2)],
]
DAY2 = [
    # Member 2 signs in on the anonymous cookie's browser: the cookie's older profile absorbs member 2's.
    o("e7", "2026-11-02 09:00:00+00", "user_id", "2"), o("e7", "2026-11-02 09:00:00+00", "cookie_id", "ck_anon"),
    # A tablet seen with four anonymous cookies: four profiles, held for review.
    o("big", "2026-11-02 10:00:00+00", "device_id", "dev_tablet"),
    *[o("big", "2026-11-02 10:00:00+00", "cookie_id", f"ck_{i}") for i in range(4)],
    # Member 2 on member 1's device: two user ids never share a profile.
    o("e8", "2026-11-02 11:00:00+00", "user_id", "2"), o("e8", "2026-11-02 11:00:00+00", "device_id", "dev_1"),
    o("e9", "2026-11-02 12:00:00+00", "user_id", "3"), o("e9", "2026-11-02 12:00:00+00", "card_last4", "1111"),
]


def test_later_resolutions_after_new_links_stay_the_same_on_both_engines(clean_spark, tmp_path):
    path = tmp_path / "w.duckdb"
    add_observations(path, DAY1)
    day1, summary = resolve_both(clean_spark, path, datetime(2026, 11, 1, 23, tzinfo=UTC))
    assert day1.rejected_links == 1 and same_counts(day1, summary)
    assert_same_tables(clean_spark, path)

    add_observations(path, DAY2)
    day2, summary = resolve_both(clean_spark, path, datetime(2026, 11, 2, 23, tzinfo=UTC))
    assert (day2.merges, day2.review_queue, day2.rejected_links) == (1, 1, 2), day2
    assert same_counts(day2, summary), (day2, summary)
    assert_same_tables(clean_spark, path)

    with duckdb.connect(str(path)) as con:  # the review is approved: the tablet's four cookies merge
        con.execute("create schema config")
        con.execute(f"create table {APPROVALS} as select 'action_log' as source, 'big' as record_id, "
                    "'analyst@brand' as approved_by, timestamptz '2026-11-03 08:00:00+00' as approved_at")
    day3, summary = resolve_both(clean_spark, path, datetime(2026, 11, 3, 23, tzinfo=UTC), INPUTS + [APPROVALS])
    assert (day3.merges, day3.review_queue) == (4, 0), day3
    assert same_counts(day3, summary), (day3, summary)
    assert_same_tables(clean_spark, path)


@pytest.mark.extended
def test_an_interrupted_write_leaves_the_previous_tables_or_is_finished(clean_spark, tmp_path, monkeypatch):
    spark, path = clean_spark, tmp_path / "w.duckdb"
    add_observations(path, DAY1)
    resolve_both(spark, path, datetime(2026, 11, 1, 23, tzinfo=UTC))
    before = {name: spark_rows(spark, f"identity.{name}") for name in TABLES}
    add_observations(path, DAY2)
    copy_from_duckdb(spark, path, INPUTS)
    day2 = datetime(2026, 11, 2, 23, tzinfo=UTC)

    # A failure while the new tables are written (the second one fails in Spark, after the first was written).
    real_output_tables = identity.spark_resolve.output_tables

    def failing_output_tables(*args, **kwargs):
        frames = real_output_tables(*args, **kwargs)
        frames["record_profiles"] = frames["record_profiles"].withColumn(
            "matched_by", F.raise_error(F.concat(F.lit("injected failure on "), F.col("record_id"))))
        return frames

    monkeypatch.setattr(identity.spark_resolve, "output_tables", failing_output_tables)
    with pytest.raises(Exception, match="injected failure"):
        resolve_on_spark(spark, now=day2)
    assert {name: spark_rows(spark, f"identity.{name}") for name in TABLES} == before
    monkeypatch.undo()

    # A crash after every new table was written, when one table had been swapped in and the others not.
    def crash(*args):
        raise RuntimeError("crashed before swapping")

    monkeypatch.setattr(identity.spark_tables, "_swap", crash)
    with pytest.raises(RuntimeError, match="crashed before swapping"):
        resolve_on_spark(spark, now=day2)
    monkeypatch.undo()
    spark.sql("drop table identity.identifier_profiles")
    spark.sql("alter table identity.identifier_profiles__next rename to identity.identifier_profiles")
    identity.spark_tables.recover(spark, "identity", TABLES)  # what the next resolution does first
    with duckdb.connect(str(path)) as con:
        resolve_in_duckdb(con, now=day2)
    assert_same_tables(spark, path)
    assert not [t.name for t in spark.catalog.listTables("identity") if t.name.endswith("__next") or t.name == "_swap_ready"]


def test_rounds_grow_with_the_log_of_the_diameter(spark):
    """A chain of n identifiers has diameter n - 1; label propagation would take n - 1 rounds."""
    rounds = {}
    for n in (16, 256, 4096):
        ids = list(range(n))
        random.Random(n).shuffle(ids)  # identifiers are numbered by value, not along the chain
        edges = spark.createDataFrame([(ids[i], ids[i + 1]) for i in range(n - 1)], "a long, b long")
        result = connected_components(edges, spark.range(n).withColumnRenamed("id", "node"))
        assert [tuple(r) for r in result.labels.groupBy("component").count().collect()] == [(0, n)]
        rounds[n] = result.rounds
        diameter = n - 1
        assert math.log2(diameter) / 2 <= result.rounds <= math.log2(diameter) + 2, rounds
    assert rounds[16] < rounds[256] < rounds[4096], rounds


def test_the_dagster_asset_resolves_on_spark_when_spark_is_selected(clean_spark, tmp_path, monkeypatch, dbt_manifest):
    import dagster as dg

    from assets.identity import identity_resolution
    from orchestration.resources import WarehouseResource

    path = tmp_path / "w.duckdb"
    add_observations(path, DAY1)
    copy_from_duckdb(clean_spark, path, INPUTS)
    monkeypatch.setenv("SYNERGY_ENGINE", "spark")
    # The DuckDB warehouse it is given is empty: whatever it reports comes from Spark.
    result = dg.materialize([identity_resolution], resources={"warehouse": WarehouseResource(data_dir=str(tmp_path / "data"))})
    assert result.success
    metadata = {m.asset_key.path[-1]: m.metadata for m in result.asset_materializations_for_node("identity_resolution")}
    with duckdb.connect(str(path)) as con:
        expected = resolve_in_duckdb(con)
    assert metadata["identifier_profiles"]["profiles"].value == expected.profiles
    assert {name: metadata[name]["dagster/row_count"].value for name in TABLES} == {
        name: sum(duckdb_rows(path, f"identity.{name}")[1].values()) for name in TABLES}
    # No merges on a first build, so no detection time differs; only the resolutions' own times do.
    assert_same_tables(clean_spark, path, tuple(t for t in TABLES if t != "resolutions"))
    untimed = "select resolution, changed_records, changes_kept from identity.resolutions"
    with duckdb.connect(str(path), read_only=True) as con:
        assert [tuple(r) for r in clean_spark.sql(untimed).collect()] == con.execute(untimed).fetchall() == [(1, 0, True)]
