"""python -m benchmarks.pipeline --members 100000 [1000000 ...] [--brands 3] [--days 60] [--as-of 2026-11-01]
       [--engine spark --spark-workers 1 2 [--spark-connect] [--worker-memory 4g]]

The whole platform as a user runs it. For each member scale, in a fresh data directory and a fresh
Dagster instance: generate the sample data (timed on its own), time `synergy run` end to end (build
and activate, dry-run sync), then append one more day of data (new files in a new dt= folder, some
late files for older days, new members, merges and erasures) and time the incremental `synergy run`.
The generated days end the day before `--as-of`, and the appended day is `--as-of` itself. The default,
2026-11-01, is the first of a month: every monthly achievement window starts again that day, so more of the
members' card documents change than on an ordinary day (at 1M, half of them against a third); `--as-of 2026-11-12`
(a Thursday) appends an ordinary day.
Each run reports wall time, peak RSS of the whole process tree, the machine's load while it ran,
every Dagster step's time (from the instance's run records) with the peak RSS sampled while it ran,
the steps and processes at the run's peak, the slowest dbt models (from dbt's run_results.json), and how much
the run changed downstream (card documents built and rewritten, people and events queued: the work the last steps do
follows these, not the new events). Results print as one table and are saved under benchmarks/results/.

With `--engine spark` the same runs happen on a local standalone cluster of each `--spark-workers` count
(one core and `--worker-memory` each), started for the measurement and stopped after it: each step's
process is a Spark driver, or with `--spark-connect` a client of one Connect server in front of the cluster.
The cluster's processes (master, workers, executors, the Connect server) count toward the peak memory.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb

from assets.dbt_project import DBT_TARGET_DIR
from benchmarks.measure import machine, run_measured, scratch_root, write_result
from ingestion.paths import PROJECT_ROOT

# The appended day by default: the first of a month, the day the most card documents change (the module's doc).
AS_OF = "2026-11-01"
# The appended day's share of members with cards who open the app: a loyalty program's, not the sample's dense
# default (which makes card feedback at 1M four million events a day, a third of the history).
DAILY_VISITORS = 0.05
SLOWEST_MODELS = 15
RUN_LINE = re.compile(r"^run (\w{8}-\w{4}-\w{4}-\w{4}-\w{12})")
# What a run changed downstream: an asset's materialization metadata, reported under a name of its own.
DOWNSTREAM_WORK = {
    ("card_snapshots",): {"members_published": "card documents", "documents_built": "card documents built",
                          "changed": "card documents rewritten"},
    ("activation", "customerio_outbound_queue"): {
        "identifies_queued": "identifies queued", "people_unchanged": "people unchanged",
        "events_queued": "events queued", "events_deduplicated": "events read again (queued before)"},
}


def generate(data: Path, members: int, brands: int, days: int, seed: int, as_of: str = AS_OF) -> dict:
    measured = run_measured(["-m", "sample_data", "--out", str(data), "--members", str(members), "--brands", str(brands),
                             "--days", str(days), "--seed", str(seed), "--as-of", as_of])
    summary = json.loads(measured.pop("stdout"))
    return {**measured, "action_log_rows": summary["action_log_rows_written"]}


def append_day(data: Path) -> dict:
    measured = run_measured(["-m", "sample_data", "--out", str(data), "--append-days", "1",
                             "--daily-visitors", str(DAILY_VISITORS)])
    day = json.loads(measured.pop("stdout"))["appended_days"][-1]
    return {**measured, "day": day["day"], "action_log_rows": day["action_log_rows_written"], "new_members": day["new_members"],
            "anonymous_signups": day["anonymous_signups"], "late_events": day["late_events"],
            "card_impressions": day.get("card_impressions", 0), "erasure_requests": day["erasure_requests"]}


def action_log_ledger(data: Path, engine_env: dict[str, str]) -> dict[str, dict[str, int]]:
    """What ingestion's ledger says of every action-log file so far, per status (files, rows read, rows
    loaded): what a run really loaded, whatever the generator meant to write."""
    from engine.settings import WAREHOUSE_ENV
    from ingestion.paths import DataPaths
    from ingestion.sources import ACTION_LOGS, ALL_SOURCES
    from ingestion.spark_store import SparkStore, store_root

    spark = engine_env.get("SYNERGY_ENGINE") == "spark"
    with duckdb.connect(":memory:" if spark else str(DataPaths(data).warehouse), read_only=not spark) as con:
        if spark:
            SparkStore(store_root(Path(engine_env[WAREHOUSE_ENV]))).define_in_duckdb(con, list(ALL_SOURCES))
        rows = con.execute("""SELECT status, count(*), sum(rows_read), sum(rows_loaded) FROM audit.ingested_files
            WHERE source = ? GROUP BY status ORDER BY status""", [ACTION_LOGS.name]).fetchall()
    return {status: {"files": files, "rows_read": int(read), "rows_loaded": int(loaded)}
            for status, files, read, loaded in rows}


def ledger_difference(after: dict, before: dict) -> dict[str, dict[str, int]]:
    """The ledger's counts added by one run (a file whose status changed counts under its new one)."""
    zero = {"files": 0, "rows_read": 0, "rows_loaded": 0}
    return {status: {key: counts[key] - before.get(status, zero)[key] for key in zero}
            for status, counts in after.items() if counts != before.get(status, zero)}


def synergy_run(data: Path, dagster_home: Path, engine_env: dict[str, str] | None = None, also: list[int] = ()) -> dict:
    measured = run_measured(["-m", "orchestration.cli", "run", "--data-dir", str(data)],
                            env={"DAGSTER_HOME": str(dagster_home), **(engine_env or {})}, timeline=True, also=also)
    run_ids = [m.group(1) for line in measured.pop("stdout").splitlines() if (m := RUN_LINE.match(line))]
    windows = step_windows(dagster_home, run_ids)
    timeline = measured.pop("rss_timeline")
    return {**measured, "runs": run_ids,
            "steps": {step: round(end - start, 2) for step, (start, end) in windows.items()},
            "step_peak_rss_mb": step_peaks(timeline, windows),
            "steps_at_peak": steps_at(max(timeline, key=lambda s: s[1])[0], windows) if timeline else [],
            "slowest_dbt_models": slowest_models(run_ids),
            "downstream_work": downstream_work(dagster_home, run_ids)}


def step_windows(dagster_home: Path, run_ids: list[str]) -> dict[str, tuple[float, float]]:
    """Every step of the runs with its start and end (epoch seconds), in the order they started,
    from the instance's event log."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        stats = [s for run_id in run_ids for s in instance.get_run_step_stats(run_id)]
    stats.sort(key=lambda s: s.start_time or 0)
    return {s.step_key: (s.start_time or 0, s.end_time or s.start_time or 0) for s in stats}


def step_peaks(timeline: list[tuple[float, float]], windows: dict[str, tuple[float, float]]) -> dict[str, float]:
    """The highest RSS (MB, the whole process tree) sampled while each step ran. A run executes its
    steps in one process, so a step's figure includes what earlier steps left allocated in it."""
    return {step: max((mb for t, mb in timeline if start <= t <= end), default=None)
            for step, (start, end) in windows.items()}


def steps_at(moment: float, windows: dict[str, tuple[float, float]]) -> list[str]:
    """The steps running at a moment (epoch seconds): where the run's peak happened."""
    return [step for step, (start, end) in windows.items() if start <= moment <= end]


def downstream_work(dagster_home: Path, run_ids: list[str]) -> dict[str, int]:
    """DOWNSTREAM_WORK's figures from the materializations the runs made (an asset they did not materialize
    reports nothing)."""
    import dagster as dg

    work = {}
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for key, names in DOWNSTREAM_WORK.items():
            records = instance.fetch_materializations(dg.AssetKey(list(key)), limit=len(run_ids) + 10).records
            for record in records:
                if record.run_id in run_ids:
                    metadata = record.asset_materialization.metadata
                    work |= {name: metadata[field].value for field, name in names.items() if field in metadata}
                    break
    return work


def slowest_models(run_ids: list[str]) -> list[dict]:
    """From each dbt invocation of the runs (dagster-dbt writes target/<op>-<run id>-<uuid>/)."""
    timings = []
    for run_id in run_ids:
        for path in DBT_TARGET_DIR.glob(f"*-{run_id[:7]}-*/run_results.json"):
            for result in json.loads(path.read_text())["results"]:
                if result["unique_id"].startswith("model."):
                    timings.append({"model": result["unique_id"].split(".")[-1],
                                    "seconds": round(result["execution_time"], 2), "status": result["status"]})
    return sorted(timings, key=lambda t: -t["seconds"])[:SLOWEST_MODELS]


def fresh_dagster_home(root: Path) -> Path:
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return home


@contextmanager
def spark_engine(root: Path, workers: int, worker_memory: str, connect: bool) -> Iterator[tuple[dict[str, str], list[int]]]:
    """A local cluster for one measurement: the environment that selects it, and its processes (which are not
    children of the measured run, and count toward its memory)."""
    from engine.settings import MASTER_ENV, METASTORE_ENV, REMOTE_ENV, WAREHOUSE_ENV, SparkSettings
    from engine.spark_cluster import start_cluster
    from engine.spark_connect import start_connect_server

    spark_dir = root / "data" / "spark"
    settings = SparkSettings(master="", warehouse=spark_dir / "warehouse", metastore=spark_dir / "metastore")
    # The executors fill their worker; two to four shuffle partitions per core, not Spark's 200.
    sizes = {"spark.executor.memory": worker_memory, "spark.executor.cores": "1",
             "spark.sql.shuffle.partitions": str(4 * workers)}
    env = {"SYNERGY_ENGINE": "spark", WAREHOUSE_ENV: str(settings.warehouse), METASTORE_ENV: str(settings.metastore)}
    with start_cluster(workers=workers, cores=1, memory=worker_memory, log_dir=root / "spark-logs") as cluster:
        pids = [process.pid for process in cluster.processes]
        if not connect:
            # Spark's own way to give a driver settings from outside (each step's process, dbt's too).
            submit = " ".join(f"--conf {key}={value}" for key, value in sizes.items())
            yield env | {MASTER_ENV: cluster.master_url, "PYSPARK_SUBMIT_ARGS": f"{submit} pyspark-shell"}, pids
            return
        with start_connect_server(replace(settings, master=cluster.master_url), log_dir=root / "spark-logs",
                                  conf=sizes) as server:
            yield env | {REMOTE_ENV: server.url}, [*pids, server.process.pid]


@contextmanager
def duckdb_engine(root: Path) -> Iterator[tuple[dict[str, str], list[int]]]:
    yield {}, []


def measure(root: Path, members: int, brands: int, days: int, seed: int, incremental: bool,
            generated: Path | None = None, engine=duckdb_engine, labels: dict | None = None, as_of: str = AS_OF) -> dict:
    """One scale on one engine: `engine(root)` is the context the runs happen in (its environment and the
    processes outside the run that count toward memory)."""
    data = root / "data"
    home = fresh_dagster_home(root)
    result = {"members": members, "brands": brands, "days": days, **(labels or {"engine": "duckdb"})}
    if generated is None:
        result["generate"] = generate(data, members, brands, days, seed, as_of)
        _print("generate", result["generate"])
    else:  # the same generator output again, copied (the appended day changes it), with its own as-of day
        for part in ("landing", "ground_truth"):
            shutil.copytree(generated / part, data / part)
        result["generated_from"] = str(generated)
        as_of = json.loads((data / "ground_truth" / "expected.json").read_text())["scale"]["as_of"]
    result["as_of"] = as_of
    with engine(root) as (engine_env, also):
        result["full"] = synergy_run(data, home, engine_env, also)
        result["full"]["action_logs_ingested"] = ledger = action_log_ledger(data, engine_env)
        _print("full run", result["full"])
        if incremental:
            result["append"] = append_day(data)
            _print("append 1 day", result["append"])
            result["incremental"] = synergy_run(data, home, engine_env, also)
            result["incremental"]["action_logs_ingested"] = ledger_difference(action_log_ledger(data, engine_env), ledger)
            _print("incremental run", result["incremental"])
    return result


def _print(label: str, row: dict) -> None:
    load = row["machine_load"]
    print(f"  {label:16s} {row['seconds']:>8.1f} s  peak {row['peak_rss_mb']:>8.0f} MB  "
          f"load {load['load_1m_before']:.1f}->{load['load_1m_max']:.1f}", flush=True)


def table(results: list[dict]) -> str:
    lines = []
    for r in results:
        for phase in ("full", "incremental"):
            if phase not in r:
                continue
            run = r[phase]
            on = r.get("engine", "duckdb") + (f", {r['workers']} workers{' via Connect' if r.get('connect') else ''}"
                                               if "workers" in r else "")
            day = f", appended day {r['append']['day']}" if phase == "incremental" and "day" in r.get("append", {}) else ""
            lines.append(f"\n{r['members']:,} members, {r['brands']} brands, {r['days']} days{day}, {on}: {phase} run "
                         f"{run['seconds']:.1f} s, peak RSS {run['peak_rss_mb'] / 1024:.2f} GB, "
                         f"load {run['machine_load']['load_1m_mean']} mean / {run['machine_load']['load_1m_max']} max")
            if run.get("action_logs_ingested"):
                lines.append("    action-log files in the ledger from this run: " + ", ".join(
                    f"{status} {c['files']} ({c['rows_loaded']:,} of {c['rows_read']:,} rows loaded)"
                    for status, c in run["action_logs_ingested"].items()))
            peaks = run.get("step_peak_rss_mb", {})
            lines += [f"    {seconds:>8.1f} s  {_mb(peaks.get(step)):>9s}  {step}" for step, seconds in run["steps"].items()]
            if run.get("steps_at_peak"):
                lines.append("    the peak came during: " + ", ".join(run["steps_at_peak"]) + "; processes then: "
                             + ", ".join(f"{p['command'][:60]} {p['rss_mb']:.0f} MB" for p in run["at_peak"]))
            lines.append("    slowest dbt models: " + ", ".join(f"{m['model']} {m['seconds']:.1f}"
                                                                for m in run["slowest_dbt_models"]))
            if run.get("downstream_work"):
                lines.append("    downstream: " + ", ".join(f"{name} {count:,}" for name, count in run["downstream_work"].items()))
    return "\n".join(lines)


def _mb(value: float | None) -> str:
    return "" if value is None else f"{value:.0f} MB"


def iso_day(text: str) -> str:
    return date.fromisoformat(text).isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[100_000])
    parser.add_argument("--brands", type=int, default=3)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", default=AS_OF, type=iso_day,
                        help="the appended day; the generated days end the day before (default: %(default)s)")
    parser.add_argument("--no-incremental", action="store_true", help="skip the appended day and its run")
    parser.add_argument("--keep", action="store_true", help="keep the data directories (printed)")
    parser.add_argument("--scratch", type=Path, default=None, help="where to write data (default: a temp dir)")
    parser.add_argument("--generated", type=Path, default=None,
                        help="a data directory the generator wrote for these options: copied instead of generating again")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--spark-workers", type=int, nargs="+", default=[1, 2], help="with spark: cluster sizes to run on")
    parser.add_argument("--worker-memory", default="4g", help="with spark: each worker's (and executor's) memory")
    parser.add_argument("--spark-connect", action="store_true", help="with spark: through a Spark Connect server")
    args = parser.parse_args()
    if args.engine == "duckdb":
        setups = [(duckdb_engine, {"engine": "duckdb"})]
    else:
        setups = [(lambda root, n=n: spark_engine(root, n, args.worker_memory, args.spark_connect),
                   {"engine": "spark", "workers": n, "worker_memory": args.worker_memory, "connect": args.spark_connect})
                  for n in args.spark_workers]
    report = {"machine": machine(), "results": []}
    print(f"machine: {report['machine']}", flush=True)
    saved = None  # saved after each scale and engine: a long benchmark stopped midway keeps what it measured
    for members in args.members:
        for engine, labels in setups:
            root = scratch_root(f"synergy-bench-pipeline-{members}-", args.scratch)
            print(f"{members:,} members on {labels} in {root}", flush=True)
            try:
                report["results"].append(measure(root, members, args.brands, args.days, args.seed,
                                                 not args.no_incremental, args.generated, engine, labels, args.as_of))
                saved = write_result("pipeline", report, path=saved)
            finally:
                if not args.keep:
                    shutil.rmtree(root, ignore_errors=True)
    print(table(report["results"]))
    print(f"\nsaved {saved}")


if __name__ == "__main__":
    main()
