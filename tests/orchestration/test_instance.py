"""The deployment's Dagster instance (orchestration/instance.py): Dagster's SQLite storage, whose event log keeps its
connections open. What it writes must be what Dagster's own storage writes and reads, wherever the instance is."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from ingestion.paths import PROJECT_ROOT
from orchestration.instance import OPEN_RUN_DATABASES, ReusedConnectionSqliteEventLogStorage, SynergyInstance


@dg.asset
def counted(context) -> dg.MaterializeResult:
    context.log.info("counting")
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(deps=[counted])
def summed() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 1})


JOB = dg.Definitions(assets=[counted, summed]).resolve_implicit_global_asset_job_def()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A Dagster home with the project's dagster.yaml, away from DAGSTER_HOME."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return home


def open_paths() -> list[str]:
    """What this process's file descriptors point to, deleted files included (psutil leaves those out)."""
    return [os.readlink(fd) for fd in Path("/proc/self/fd").iterdir() if fd.is_symlink()]


def open_run_databases(folder: Path) -> int:
    return sum(1 for path in open_paths()
               if Path(path).parent == folder.resolve() and path.endswith(".db") and not path.endswith("index.db"))


def test_the_project_instance_keeps_its_files_in_its_own_directory_as_dagster_does(home: Path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(home.parent / "elsewhere"))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance, SynergyInstance)
        assert isinstance(instance.event_log_storage, ReusedConnectionSqliteEventLogStorage)
        result = JOB.execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id
        # Still read back with the pool limit in effect (the warehouse pool admits one step).
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    assert (home / "history" / "runs" / f"{run_id}.db").exists() and (home / "history" / "runs.db").exists()
    assert not (home.parent / "elsewhere").exists()
    # Dagster's own storage reads every event the run wrote, in the run's database and in the index.
    dagster_own = SqliteEventLogStorage(str(home / "history" / "runs"))
    events = [e.dagster_event_type for e in dagster_own.get_logs_for_run(run_id) if e.is_dagster_event]
    assert events.count(dg.DagsterEventType.ASSET_MATERIALIZATION) == 2
    assert dg.DagsterEventType.RUN_SUCCESS in events
    latest = dagster_own.get_latest_materialization_events([dg.AssetKey("counted")])[dg.AssetKey("counted")]
    assert latest.run_id == run_id and latest.asset_materialization.metadata["rows"].value == 3
    assert any("counting" in e.user_message for e in dagster_own.get_logs_for_run(run_id))


def test_only_a_few_run_databases_stay_open_and_none_after_disposal(home: Path):
    runs = home / "history" / "runs"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_ids = [JOB.execute_in_process(instance=instance).run_id for _ in range(OPEN_RUN_DATABASES + 2)]
        assert 0 < open_run_databases(runs) <= OPEN_RUN_DATABASES
        # The oldest run's database was closed, and is opened again to be read.
        assert len(instance.all_logs(run_ids[0])) > 5
    assert open_run_databases(runs) == 0


def test_events_written_from_several_threads_are_all_kept(home: Path):
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.create_run_for_job(JOB)

        def report(thread: int) -> None:
            for i in range(25):
                instance.report_engine_event(f"thread {thread} event {i}", run)

        threads = [threading.Thread(target=report, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        messages = {e.message for e in instance.all_logs(run.run_id)}
    assert {f"thread {t} event {i}" for t in range(4) for i in range(25)} <= messages


def test_a_run_watched_from_another_instance_sees_each_new_event(home: Path):
    """How the UI follows a run's log live: Dagster's watcher learns of new events from the run's database file,
    whose connections in both instances stay open (WAL: a commit alone leaves that file unchanged)."""
    with dg.DagsterInstance.from_config(str(home)) as writer, dg.DagsterInstance.from_config(str(home)) as reader:
        run = writer.create_run_for_job(JOB)
        writer.report_engine_event("before watching", run)
        assert [e.message for e in reader.all_logs(run.run_id)][-1:] == ["before watching"]
        seen: list[str] = []

        def heard(event, cursor) -> None:
            seen.append(event.message)

        reader.event_log_storage.watch(run.run_id, None, heard)
        try:
            for i in range(3):
                writer.report_engine_event(f"watched {i}", run)
                deadline = time.monotonic() + 20
                while f"watched {i}" not in seen and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert f"watched {i}" in seen, seen
        finally:
            reader.event_log_storage.end_watch(run.run_id, heard)


def test_the_instance_a_run_worker_rebuilds_from_its_reference_is_this_one(home: Path):
    """A run launched in another process (dagster dev, the daemon) gets the instance from its serialized
    reference: the same class and storage, over the same files."""
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import deserialize_value, serialize_value

    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_id = JOB.execute_in_process(instance=instance).run_id
        ref = deserialize_value(serialize_value(instance.get_ref()), InstanceRef)
    with dg.DagsterInstance.from_ref(ref) as rebuilt:
        assert isinstance(rebuilt, SynergyInstance)
        assert isinstance(rebuilt.event_log_storage, ReusedConnectionSqliteEventLogStorage)
        assert rebuilt.get_run_by_id(run_id).is_success and len(rebuilt.all_logs(run_id)) > 5


def test_a_wiped_instance_writes_new_runs_into_new_files(home: Path):
    with dg.DagsterInstance.from_config(str(home)) as instance:
        first = JOB.execute_in_process(instance=instance).run_id
        instance.wipe()
        assert not (home / "history" / "runs" / f"{first}.db").exists()
        assert not [path for path in open_paths() if first in path], "no deleted database held open"
        second = JOB.execute_in_process(instance=instance).run_id
        assert len(instance.all_logs(second)) > 5
    assert (home / "history" / "runs" / f"{second}.db").exists()
