"""Shared fixtures: temporary data directories, generated sample data, the dbt manifest."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from erasure.redact import PROFILE_AGGREGATES
from ingestion.paths import DATA_DIR_ENV, DataPaths
from sample_data.append import append_days
from sample_data.generator import Scale, generate

# One Definitions serves every temporary landing zone of the session, so its partitions cannot start at
# whichever landing zone happened to be current when it was imported (tests of the derived start unset this).
os.environ.setdefault("SYNERGY_PARTITIONS_START", "2024-01-01")

# The suite runs in two processes (pytest-xdist, pyproject.toml). Each keeps its dbt manifest and invocation
# folders in a target folder of its own, set before anything imports the dbt project.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ.setdefault("DBT_TARGET_PATH", f"target/{os.environ['PYTEST_XDIST_WORKER']}")

# Each process takes whole modules (their module fixtures build pipelines), and the tests sharing a costly session
# fixture run in one process, so it is built once: the Spark tests share the local cluster and the two pipeline
# runs they compare; `builds` is shared by the incremental and experiment tests. These two go first: they are the
# longest, and the other process takes the rest meanwhile.
SPARK_TESTS = "tests/spark/"
BUILDS_MODULES = ("tests/test_incremental.py", "tests/test_experiments.py")
FIRST_UNITS = ("spark", "builds")


def work_unit(nodeid: str) -> str:
    """The tests that must run in one process: the Spark tests, the users of `builds`, or a module."""
    module = nodeid.split("::", 1)[0]
    if module.startswith(SPARK_TESTS):
        return "spark"
    return "builds" if module in BUILDS_MODULES else module


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = {unit: position for position, unit in enumerate(FIRST_UNITS)}
    items.sort(key=lambda item: order.get(work_unit(item.nodeid), len(order)))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unused when it is not loaded (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """pytest-xdist's scope scheduling with work_unit() as the scope: a unit goes whole to one process."""
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


AS_OF = date(2026, 11, 20)
SMALL = Scale(brands=2, members=300, days=14, seed=7, as_of=AS_OF)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    """An empty data directory, selected through the environment like in production."""
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return DataPaths.from_env().ensure()


@pytest.fixture(scope="session")
def small_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated landing zone (read-only for tests: copy it before loading)."""
    root = tmp_path_factory.mktemp("sample") / "data"
    generate(root, SMALL)
    return root


@pytest.fixture
def sample_data_dir(small_sample: Path, data_dir: DataPaths) -> DataPaths:
    shutil.copytree(small_sample / "landing", data_dir.landing, dirs_exist_ok=True)
    shutil.copytree(small_sample / "ground_truth", data_dir.ground_truth)
    return data_dir


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """dagster-dbt reads the manifest at import time and prepare_if_dev() is a no-op here."""
    from assets.dbt_project import dbt_project, prepare_dbt_manifest

    prepare_dbt_manifest()
    return dbt_project.manifest_path


SCALE = replace(SMALL, members=600, days=21, as_of=date(2026, 11, 20))


def landing_days(landing: Path) -> set[str]:
    return {p.name for p in (landing / "app/action_logs").iterdir()}


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory, dbt_manifest) -> tuple[DataPaths, DataPaths, dict]:
    """(incremental data dir, from-scratch data dir, what the appended day brought): a landing zone built, then
    the generator appends a day (with feedback on the cards that build published) and it is built again
    incrementally; a second warehouse is built from scratch on the final landing zone. Shared by the tests of
    the incremental paths and of the experiments, so the pipeline is built once for both."""
    root = tmp_path_factory.mktemp("incremental")
    incremental = DataPaths(root / "incremental" / "data")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("DAGSTER_HOME", str(root))
    monkeypatch.setenv(DATA_DIR_ENV, str(incremental.root))
    from tests.orchestration.build import build_all

    try:
        generate(incremental.root, SCALE)
        assert build_all(incremental).success
        with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
            before = {
                "events": con.execute("SELECT count(*) FROM staging.stg_app__action_logs").fetchone()[0],
                "profile_of": dict(con.execute("""SELECT r.record_id, r.profile_id FROM identity.record_profiles AS r
                    WHERE r.source = 'action_log'""").fetchall()),
                "days": landing_days(incremental.landing),
                "aggregated": {t: {p for (p,) in con.execute(f"SELECT DISTINCT profile_id FROM {t}").fetchall()}
                               for t in PROFILE_AGGREGATES},
            }
        appended = append_days(incremental.root, 1)["appended_days"][-1]
        assert build_all(incremental).success

        scratch = DataPaths(root / "scratch" / "data")
        shutil.copytree(incremental.landing, scratch.landing)
        monkeypatch.setenv(DATA_DIR_ENV, str(scratch.root))
        assert build_all(scratch).success
    finally:
        monkeypatch.undo()
    return incremental, scratch, {"before": before, "appended": appended}


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A Spark standalone master and two workers (1 core, 1 GB each) on loopback; stopped at the end,
    whatever the tests did. Its logs stay in the session's temporary directory."""
    from engine.spark_cluster import start_cluster

    with start_cluster(workers=2, cores=1, memory="1g", log_dir=tmp_path_factory.mktemp("spark-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def spark(spark_cluster, tmp_path_factory: pytest.TempPathFactory):
    """A session on the test cluster with its own warehouse and metastore, configured through the
    environment like in production (so code that builds its own session gets this one)."""
    from engine.settings import MASTER_ENV, METASTORE_ENV, WAREHOUSE_ENV
    from engine.spark import build_session

    root = tmp_path_factory.mktemp("spark")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv(MASTER_ENV, spark_cluster.master_url)
    monkeypatch.setenv(WAREHOUSE_ENV, str(root / "warehouse"))
    monkeypatch.setenv(METASTORE_ENV, str(root / "metastore"))
    # Small data on a small cluster: few shuffle partitions, executors within the workers' memory.
    # One of the cluster's two cores: a test's own Spark process (dbt on Spark, a child it kills) gets the other;
    # a standalone master gives an application every free core otherwise, and the second would wait forever.
    session = build_session(conf={"spark.executor.memory": "768m", "spark.executor.cores": "1", "spark.cores.max": "1",
                                  "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"})
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()
        monkeypatch.undo()
