"""The pipeline benchmark's --as-of: the day the generator appends is that day, and the table names it."""

from benchmarks.pipeline import append_day, generate, table


def test_the_appended_day_is_the_as_of_day(tmp_path):
    data = tmp_path / "data"
    generate(data, members=100, brands=1, days=2, seed=1, as_of="2026-11-12")
    appended = append_day(data)
    assert appended["day"] == "2026-11-12"
    run = {"seconds": 1.0, "peak_rss_mb": 512.0, "machine_load": {"load_1m_mean": 1.0, "load_1m_max": 1.0},
           "steps": {}, "slowest_dbt_models": []}
    printed = table([{"members": 100, "brands": 1, "days": 2, "engine": "duckdb", "append": appended,
                      "full": run, "incremental": run}])
    assert "2 days, duckdb: full run" in printed
    assert "2 days, appended day 2026-11-12, duckdb: incremental run" in printed
    # A result without an appended day (--no-incremental, or saved before the day was recorded) names none.
    assert "appended day" not in table([{"members": 100, "brands": 1, "days": 2, "engine": "duckdb", "full": run,
                                         "incremental": run, "append": {}}])
