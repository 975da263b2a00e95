"""The benchmark harness: its memory figures (what it samples, how a run's peak is put on its steps) and scratch directories."""

from benchmarks.measure import run_measured, scratch_root
from benchmarks.pipeline import step_peaks, steps_at

# A child that holds 300 MB for a moment, then exits.
HOLD_300_MB = "import time; block = bytearray(300 * 2**20); block[::4096] = b'x' * len(block[::4096]); time.sleep(1)"


def test_the_peak_names_the_process_that_held_the_memory():
    measured = run_measured(["-c", HOLD_300_MB], timeline=True)

    assert measured["peak_rss_mb"] >= 300
    biggest = max(measured["at_peak"], key=lambda p: p["rss_mb"])
    assert biggest["rss_mb"] >= 300 and "bytearray(300" in biggest["command"]
    times = [t for t, _ in measured["rss_timeline"]]
    assert times == sorted(times) and max(mb for _, mb in measured["rss_timeline"]) == measured["peak_rss_mb"]


def test_each_step_gets_the_highest_sample_taken_while_it_ran():
    timeline = [(10.0, 100.0), (11.0, 900.0), (12.0, 300.0), (13.0, 2500.0), (14.0, 200.0)]
    windows = {"ingest": (10.0, 11.5), "dbt": (11.5, 13.5), "publish": (13.6, 13.9), "sync": (14.0, 14.0)}

    assert step_peaks(timeline, windows) == {"ingest": 900.0, "dbt": 2500.0, "publish": None, "sync": 200.0}
    assert steps_at(13.0, windows) == ["dbt"]
    assert steps_at(11.5, windows) == ["ingest", "dbt"]


def test_processes_outside_the_run_count_when_named():
    """A Spark cluster's executors are children of its workers, not of the measured run: named, they count."""
    import subprocess
    import sys
    import time

    import psutil

    outside = subprocess.Popen([sys.executable, "-c", HOLD_300_MB.replace("time.sleep(1)", "time.sleep(60)")])
    try:
        while psutil.Process(outside.pid).memory_info().rss < 300 * 2**20:  # until it holds the memory
            time.sleep(0.1)
        alone = run_measured(["-c", "import time; time.sleep(0.5)"])
        together = run_measured(["-c", "import time; time.sleep(0.5)"], also=[outside.pid], timeline=True)
    finally:
        outside.kill()
        outside.wait()
    assert alone["peak_rss_mb"] < 300 <= together["peak_rss_mb"]
    assert any(p["pid"] == outside.pid and p["rss_mb"] >= 300 for p in together["at_peak"])


def test_a_scratch_parent_that_does_not_exist_yet_is_created(tmp_path):
    parent = tmp_path / "not" / "there"
    first, second = scratch_root("bench-", parent), scratch_root("bench-", parent)
    assert first.parent == second.parent == parent and first != second
    assert first.is_dir() and first.name.startswith("bench-")
