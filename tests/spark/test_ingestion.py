"""Ingestion on Spark gives what ingestion on DuckDB gives, from the same generated landing zone (NDJSON, and the
Customer.io exports' CSV): the same raw rows, quarantined rows with their reasons, and ledger, row for row; reruns
and late files load exactly once; CSV and Parquet files with bad records and refused files end the same way."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import polars as pl
import pytest

from ingestion.loader import Loader
from ingestion.paths import DataPaths
from ingestion.reconcile import reconcile_spark
from ingestion.sources import ACTION_LOGS, ALL_SOURCES, CUSTOMERIO_EXPORTS
from ingestion.spark_loader import load_landing_zone_spark
from ingestion.spark_store import SparkStore
from ingestion.warehouse import connect
from tests.ingestion.helpers import NOW, event, write_lines
from tests.spark.ingestion_tables import ledger_rows, quarantine_rows, raw_rows

NDJSON_SOURCES = [s for s in ALL_SOURCES if s is not CUSTOMERIO_EXPORTS]  # what the crash test's child loads


def outcome(results) -> list[tuple]:
    return sorted((r.source, r.path, r.status, r.detail, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate)
                  for r in results)


def load_duckdb(data: DataPaths, sources=ALL_SOURCES) -> list:
    con = connect(data.warehouse)
    try:
        loader = Loader(con, data.landing, now=NOW)
        return [r for s in sources for r in loader.load_source(s)]
    finally:
        con.close()


@pytest.fixture(scope="module")
def both(small_sample: Path, tmp_path_factory: pytest.TempPathFactory, spark):
    """One landing zone loaded by both engines (DuckDB warehouse, Spark store), and what each load reported."""
    data = DataPaths(tmp_path_factory.mktemp("both") / "data")
    shutil.copytree(small_sample / "landing", data.landing)
    store = SparkStore(data.root / "spark_store")
    duck = load_duckdb(data)
    on_spark = load_landing_zone_spark(spark, data.landing, store, ALL_SOURCES, now=NOW)
    return data, store, duck, on_spark


def assert_same_tables(spark, data: DataPaths, sources=ALL_SOURCES) -> None:
    for source in sources:
        assert raw_rows(spark, source) == raw_rows(data.warehouse, source), source.name
        assert quarantine_rows(spark, source) == quarantine_rows(data.warehouse, source), source.name
        assert ledger_rows(spark, source) == ledger_rows(data.warehouse, source), source.name
        assert reconcile_spark(spark, source) == []


def test_spark_loads_what_duckdb_loads_row_for_row(spark, both):
    data, store, duck, on_spark = both
    assert outcome(on_spark) == outcome(duck)
    assert {r.status for r in on_spark} >= {"loaded"}
    assert sum(r.rows_quarantined for r in on_spark) > 0  # the generator's broken lines are in the comparison
    assert sum(r.rows_duplicate for r in on_spark) > 0  # and its re-sent events
    assert any(r.source == CUSTOMERIO_EXPORTS.name and r.rows_loaded > 0 for r in on_spark)  # and the CSV export
    assert_same_tables(spark, data)


def test_a_rerun_loads_nothing_new(spark, both):
    data, store, _, _ = both
    before = {s.name: len(raw_rows(spark, s)) for s in ALL_SOURCES}
    assert load_landing_zone_spark(spark, data.landing, store, ALL_SOURCES, now=NOW) == []
    assert {s.name: len(raw_rows(spark, s)) for s in ALL_SOURCES} == before


def test_a_late_file_for_an_old_day_loads_once(spark, both):
    data, store, _, _ = both
    folder = min((data.landing / ACTION_LOGS.folder).iterdir())
    resent = gzip.decompress(next(folder.glob("*.ndjson.gz")).read_bytes()).split(b"\n")[0]
    late = folder / "events-late.ndjson.gz"
    write_lines(late, [resent, event("late-1"), event("late-2"), event("late-1", points_awarded=1)])
    late.write_bytes(gzip.compress(late.read_bytes()))
    [duck] = load_duckdb(data, [ACTION_LOGS])
    [result] = load_landing_zone_spark(spark, data.landing, store, [ACTION_LOGS], now=NOW)
    assert outcome([result]) == outcome([duck])
    assert (result.path, result.partition, result.rows_loaded, result.rows_duplicate, result.rows_quarantined) == (
        late.relative_to(data.landing).as_posix(), folder.name.removeprefix("dt="), 2, 1, 1)
    assert_same_tables(spark, data)
    assert load_landing_zone_spark(spark, data.landing, store, [ACTION_LOGS], now=NOW) == []


def test_csv_and_parquet_files_with_bad_records_end_as_on_duckdb(spark, both):
    """Export files the reader has to judge: a ragged record, a record that is not UTF-8, a quoted record over two
    lines, an unknown column (folded into the attributes, in NDJSON too), a repeated header (the file refused whole),
    a Parquet file, and an unreadable one."""
    data, store, _, _ = both
    exports = data.landing / CUSTOMERIO_EXPORTS.folder
    header = b"id,email,cio_id,segments,churn_probability,predicted_ltv,email_opens_30d,unsubscribed"
    (exports / "people-20261121T000000Z.csv").write_bytes(b"\n".join([
        header + b",favourite_colour",
        b'9001,ragged@example.com,cio_9001,[]',
        b'9002,caf\xe9@example.com,cio_9002,[],,,1,false,blue',
        b'9003,"two\nlines@example.com",cio_9003,"[""vip""]",0.25,10.5,3,true,green',
        b'9004,fine@example.com,cio_9004,[],0.1,1,not-a-number,false,red',
        b""]))
    (exports / "people-20261122T000000Z.csv").write_bytes(header + b",id\n1,a@example.com,c,[],,,1,false,2\n")
    pl.DataFrame({"id": ["9100", "9101"], "email": ["p@example.com", None], "cio_id": ["cio_9100", "cio_9101"],
                  "email_opens_30d": [4, 5]}).write_parquet(exports / "people-20261123T000000Z.parquet")
    (exports / "people-20261124T000000Z.parquet").write_bytes(b"PAR1 not really")
    (exports / "people-20261125T000000Z.ndjson").write_bytes(
        b'{"cio_id": "cio_9200", "id": "9200", "favourite_colour": "teal", "attributes": {"plan": "gold"}}\n')
    duck = load_duckdb(data, [CUSTOMERIO_EXPORTS])
    on_spark = load_landing_zone_spark(spark, data.landing, store, [CUSTOMERIO_EXPORTS], now=NOW)
    assert outcome(on_spark) == outcome(duck)
    assert {r.status for r in on_spark} == {"rejected", "loaded"}
    assert_same_tables(spark, data, [CUSTOMERIO_EXPORTS])
    # The same on both: so also on Spark, whose own line splitting does not fold.
    assert [row for row in raw_rows(spark, CUSTOMERIO_EXPORTS) if row[0] == "cio_9200"][0][4] == {
        "plan": "gold", "favourite_colour": "teal"}
    reasons = {row[4] for row in quarantine_rows(spark, CUSTOMERIO_EXPORTS)}
    assert {"csv_wrong_field_count", "invalid_utf8", "csv_duplicate_column", "unreadable_parquet"} <= reasons
    assert load_landing_zone_spark(spark, data.landing, store, [CUSTOMERIO_EXPORTS], now=NOW) == []
