"""Ingestion on Spark gives what ingestion on DuckDB gives, from the same generated landing zone: the same raw rows,
quarantined rows with their reasons, and ledger, row for row; reruns and late files load exactly once."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

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

# CSV (customerio/exports) does not load on Spark yet: see test_a_csv_file_fails_on_spark_and_stays_pending.
NDJSON_SOURCES = [s for s in ALL_SOURCES if s is not CUSTOMERIO_EXPORTS]


def outcome(results) -> list[tuple]:
    return sorted((r.source, r.path, r.status, r.detail, r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate)
                  for r in results)


def load_duckdb(data: DataPaths, sources=NDJSON_SOURCES) -> list:
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
    on_spark = load_landing_zone_spark(spark, data.landing, store, NDJSON_SOURCES, now=NOW)
    return data, store, duck, on_spark


def assert_same_tables(spark, data: DataPaths) -> None:
    for source in NDJSON_SOURCES:
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
    assert_same_tables(spark, data)


def test_a_rerun_loads_nothing_new(spark, both):
    data, store, _, _ = both
    before = {s.name: len(raw_rows(spark, s)) for s in NDJSON_SOURCES}
    assert load_landing_zone_spark(spark, data.landing, store, NDJSON_SOURCES, now=NOW) == []
    assert {s.name: len(raw_rows(spark, s)) for s in NDJSON_SOURCES} == before


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


def test_a_csv_file_fails_on_spark_and_stays_pending(spark, both):
    """Not a feature: the gap, stated. A CSV file is reported failed, not written to the ledger, and retried."""
    data, store, _, _ = both
    [result] = load_landing_zone_spark(spark, data.landing, store, [CUSTOMERIO_EXPORTS], now=NOW)
    assert (result.status, result.detail) == ("failed", "NotImplementedError: csv landing files are not loaded on Spark yet")
    assert ledger_rows(spark, CUSTOMERIO_EXPORTS) == []
