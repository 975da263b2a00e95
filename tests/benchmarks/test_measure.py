"""The benchmark harness's memory figures: what it samples, and how a run's peak is put on its steps."""

from benchmarks.measure import run_measured
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
