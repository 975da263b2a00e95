"""Runs whose process died (SIGKILL, out-of-memory kill, a reboot) stay STARTED for Dagster and keep
their pool slots, so every later run waits forever on the `warehouse` or `customerio` pool. The run
launcher of a single-machine deployment cannot report a dead run worker, so this finds them itself:
a run's executor records its process id in the run's event log; a run whose process is gone (or
whose id now belongs to a younger process) is marked failed and its slots are freed.

It assumes what this deployment is: one machine, one Dagster instance on local storage.
"""

from __future__ import annotations

import dagster as dg
import psutil

ACTIVE = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def run_process(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The process executing the run's steps and when it said so, from the executor's engine event."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        event = record.event_log_entry.dagster_event
        pid = event.engine_event_data.metadata.get("pid") if event and event.engine_event_data else None
        if pid is not None:
            return int(pid.value), record.event_log_entry.timestamp
    return None


def process_alive(pid: int, seen_at: float) -> bool:
    """The process exists and is the one that reported itself at `seen_at` (it existed by then; a process
    created later was given a dead one's id)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= seen_at + 1
    except psutil.NoSuchProcess:
        return False


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Marks each active run whose process is gone as failed and frees its pool slots; returns their ids."""
    released = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=ACTIVE)):
        run_id = record.dagster_run.run_id
        process = run_process(instance, run_id)
        if process is None or process_alive(*process):
            continue  # not executing yet, or still alive
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            continue  # it finished since the listing: its own end freed its slots
        instance.report_run_failed(run, f"The run's process (pid {process[0]}) is gone: it was killed before it "
                                        "finished. Its pool slots are freed; start the run again.")
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        released.append(run_id)
    return released
