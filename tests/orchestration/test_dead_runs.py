"""A run killed mid-step (SIGKILL, as the out-of-memory killer does) must not block every later run
on the pool slot it held: the next `synergy run` marks it failed, frees its slots and completes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import EngineEventData

from ingestion.paths import PROJECT_ROOT
from orchestration.dead_runs import release_dead_runs

TIMEOUT = 600


def synergy_run(data: Path, home: Path, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(data),
                             "--members", "300", "--brands", "1", "--days", "10"],
                            cwd=PROJECT_ROOT, env={**os.environ, "DAGSTER_HOME": str(home)},
                            start_new_session=True, text=True, **popen)


def warehouse_slot_taken(home: Path) -> bool:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        info = instance.event_log_storage.get_concurrency_info("warehouse")
        return bool(info.claimed_slots)


@pytest.mark.slow  # `synergy run` twice: generation, the whole pipeline and activation
def test_a_run_killed_mid_step_frees_its_slots_and_the_next_run_completes(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    data = tmp_path / "data"

    first = synergy_run(data, home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + TIMEOUT
    while not (home / "storage").exists() or not warehouse_slot_taken(home):
        assert first.poll() is None and time.monotonic() < deadline, "the run never took the warehouse slot"
        time.sleep(0.5)
    os.killpg(first.pid, signal.SIGKILL)  # the run's process and its dbt child, mid-step
    first.wait(60)
    assert warehouse_slot_taken(home), "the dead run still holds its slot"

    second = synergy_run(data, home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output, _ = second.communicate(timeout=TIMEOUT)  # waited forever on the slot before
    assert second.returncode == 0, output[-3000:]
    assert "was killed before it finished: marked failed, its pool slots freed" in output

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_run_records()
        statuses = sorted(r.dagster_run.status.value for r in runs)
        assert statuses == ["FAILURE", "SUCCESS", "SUCCESS"]  # the killed build, the new build, activate
        assert release_dead_runs(instance) == []  # nothing left to release


def test_a_run_whose_process_started_after_the_run_was_created_is_alive(tmp_path: Path):
    """A launched run's worker process is younger than the run (queued first, started later): alive, not
    mistaken for a dead run whose pid was reused; once that process is gone, the run is released."""
    with dg.DagsterInstance.ephemeral() as instance:
        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job(), status=dg.DagsterRunStatus.STARTING)
        time.sleep(3)  # the worker starts a while after the run was created
        worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            # What the run worker reports when it starts (dagster's own engine event).
            instance.report_engine_event("Started process for run", run, EngineEventData.in_process(worker.pid))
            assert release_dead_runs(instance) == []
        finally:
            worker.kill()
            worker.wait()
        assert release_dead_runs(instance) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
