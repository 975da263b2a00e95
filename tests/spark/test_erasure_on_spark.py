"""Erasure on Spark redacts what erasure on DuckDB redacts, from the same data (tests/erasure/erased_member.py): none
of the member's values stays in any Parquet file of the Spark warehouse or its raw layer, and every relation the
redaction touches equals DuckDB's row for row. A process killed before or after the commit point leaves the old
data or a swap the rerun finishes, with the uncrashed result's exact rows; a rerun changes nothing.

The Spark work runs in child processes on the test cluster (tests/spark/redact_child.py), each with the metastore of
its own data directory; the test reads their files through DuckDB (the raw layer's views and engine/spark_views.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from engine.spark_views import create_views
from erasure.redact import redact_erased
from erasure.spark_redact import JOURNAL
from ingestion.paths import PROJECT_ROOT
from ingestion.spark_store import SparkStore, store_root
from ingestion.warehouse import connect
from tests.erasure.erased_member import BUILT_TABLES, ERASED_VALUES, SOURCES, duckdb_warehouse, write_landing
from tests.ingestion.helpers import NOW
from tests.spark.ingestion_tables import ledger_rows, quarantine_rows, raw_rows
from tests.spark.spark_commands import spark_environment

pytestmark = pytest.mark.slow

TABLES = [*BUILT_TABLES, "identity.erasures"]


def child(root: Path, master: str, *options: str) -> subprocess.Popen:
    log = (root / "child.log").open("a")
    return subprocess.Popen([sys.executable, "-m", "tests.spark.redact_child", str(root), *options], cwd=PROJECT_ROOT,
                            env=spark_environment(root, master), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=log, text=True)


def completed(root: Path, master: str, *options: str) -> dict:
    """Run the child to its end; its redaction summary."""
    proc = child(root, master, *options)
    out, _ = proc.communicate()
    assert proc.returncode == 0, (root / "child.log").read_text()[-3000:]
    return json.loads(out.splitlines()[-1])


def killed_at_hold(root: Path, master: str, *options: str) -> None:
    proc = child(root, master, *options)
    assert proc.stdout.readline().strip() == "holding", (root / "child.log").read_text()[-3000:]
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL


def warehouse_dir(root: Path) -> Path:
    return Path(spark_environment(root, "")["SYNERGY_SPARK_WAREHOUSE"])


def spark_as_duckdb(root: Path) -> Path:
    """A DuckDB file of views over the Spark files as they are now: the raw layer and every table."""
    path = root / "spark_views.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        create_views(con, warehouse_dir(root))  # first: it drops views over the warehouse that are not its own
        SparkStore(store_root(warehouse_dir(root))).define_in_duckdb(con, list(SOURCES))
    finally:
        con.close()
    return path


def relations(warehouse: Path, tables: list[str] = TABLES) -> dict[str, list]:
    """Every relation the redaction touches, as comparable rows (DuckDB warehouse or Spark's files as views)."""
    out = {}
    for source in SOURCES:
        out[source.table] = raw_rows(warehouse, source)
        out[f"quarantine {source.name}"] = quarantine_rows(warehouse, source)
        out[f"ledger {source.name}"] = ledger_rows(warehouse, source)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        for table in tables:
            columns = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall()
            select = ", ".join(f"epoch_us({c})" if "TIMESTAMP" in kind else c for c, kind in columns)
            out[table] = sorted(map(tuple, con.execute(f"SELECT {select} FROM {table}").fetchall()), key=repr)
    finally:
        con.close()
    return out


def files_holding(root: Path, value: str) -> list[str]:
    """Every Parquet file under the Spark directory (hidden leftovers included) with a row that contains `value`."""
    con = duckdb.connect()
    try:
        return [str(f) for f in sorted((root / "spark").rglob("*.parquet"))
                if con.execute(f"SELECT count(*) FROM read_parquet('{f}') AS t WHERE contains(CAST(t AS VARCHAR), ?)",
                               [value]).fetchone()[0]]
    finally:
        con.close()


def rows_per_folder(root: Path) -> dict[str, int]:
    """Exact row count of every folder of Parquet files under the Spark directory."""
    con = duckdb.connect()
    try:
        folders = sorted({f.parent for f in (root / "spark").rglob("*.parquet")})
        return {str(d.relative_to(root)): con.execute(f"SELECT count(*) FROM read_parquet('{d}/*.parquet')").fetchone()[0]
                for d in folders}
    finally:
        con.close()


def leftovers(root: Path) -> list[str]:
    return sorted(str(p) for p in (root / "spark").rglob(".re*-*")) + \
        ([str(warehouse_dir(root) / JOURNAL)] if (warehouse_dir(root) / JOURNAL).exists() else [])


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    """The one landing zone every warehouse of these tests loads (the ledger records when each file arrived)."""
    landing = tmp_path_factory.mktemp("erasure-landing")
    write_landing(landing)
    return landing


@pytest.fixture(scope="module")
def duckdb_before(tmp_path_factory, landing) -> Path:
    return duckdb_warehouse(tmp_path_factory.mktemp("erasure-duckdb-before"), landing)


@pytest.fixture(scope="module")
def duckdb_redacted(tmp_path_factory, landing) -> tuple[Path, dict]:
    path = duckdb_warehouse(tmp_path_factory.mktemp("erasure-duckdb"), landing)
    con = connect(path)
    summary = redact_erased(con, now=NOW)
    con.close()
    return path, summary


@pytest.fixture(scope="module")
def spark_redacted(tmp_path_factory, spark_cluster, landing) -> tuple[Path, dict]:
    """The data loaded on Spark and redacted by one uncrashed process."""
    root = tmp_path_factory.mktemp("erasure-spark")
    return root, completed(root, spark_cluster.master_url, "--prepare", str(landing))


def test_nothing_of_the_member_stays_and_the_rest_equals_duckdb(spark_redacted, duckdb_redacted):
    root, summary = spark_redacted
    duck, duck_summary = duckdb_redacted
    assert {value: files_holding(root, value) for value in ERASED_VALUES} == {value: [] for value in ERASED_VALUES}
    assert files_holding(root, "kept@example.org")  # the scan finds what stays
    assert relations(spark_as_duckdb(root)) == relations(duck)
    assert summary["derived_rows_deleted"] == duck_summary.derived_rows_deleted
    assert (summary["erased_members"], summary["erased_profiles"], summary["referral_sides_redacted"],
            summary["quarantined_rows_redacted"]) == (1, 1, 2, 1)
    assert leftovers(root) == []


def test_a_rerun_changes_nothing(spark_redacted, spark_cluster):
    root, _ = spark_redacted
    files = sorted(str(p.relative_to(root)) for p in (root / "spark" / "warehouse").rglob("*.parquet"))
    before = relations(spark_as_duckdb(root))
    again = completed(root, spark_cluster.master_url)
    assert (again["referral_sides_redacted"], again["quarantined_rows_redacted"]) == (0, 0)
    assert set(again["raw_rows_redacted"].values()) | set(again["derived_rows_deleted"].values()) == {0}
    assert sorted(str(p.relative_to(root)) for p in (root / "spark" / "warehouse").rglob("*.parquet")) == files
    assert relations(spark_as_duckdb(root)) == before


@pytest.mark.extended
def test_killed_before_and_after_the_commit_point_the_reruns_give_the_uncrashed_result(
        tmp_path_factory, spark_cluster, spark_redacted, duckdb_before, landing):
    reference, _ = spark_redacted
    root = tmp_path_factory.mktemp("erasure-spark-killed")
    master = spark_cluster.master_url

    # Killed with every copy written, before the journal: the old data stands, whole.
    killed_at_hold(root, master, "--prepare", str(landing), "--hold-before-commit")
    assert not (warehouse_dir(root) / JOURNAL).exists()
    assert list((root / "spark").rglob(".redacted-*")), "the copies were written before the kill"
    assert relations(spark_as_duckdb(root), list(BUILT_TABLES)) == relations(duckdb_before, list(BUILT_TABLES))
    assert files_holding(root, ERASED_VALUES[0])  # the scan finds the member's values where they still are

    # The rerun redoes it and is killed after the commit point, with three folders swapped and the rest not.
    killed_at_hold(root, master, "--hold-after-swaps", "3")
    assert (warehouse_dir(root) / JOURNAL).exists()
    assert list((root / "spark").rglob(".redacted-*")), "some folders were not swapped yet"

    # The next run finishes the swap: the uncrashed result, row for row and folder by folder.
    completed(root, master)
    assert leftovers(root) == []
    assert rows_per_folder(root) == rows_per_folder(reference)
    assert relations(spark_as_duckdb(root)) == relations(spark_as_duckdb(reference))
    assert {value: files_holding(root, value) for value in ERASED_VALUES} == {value: [] for value in ERASED_VALUES}
