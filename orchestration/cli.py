"""`synergy run`: the main job end to end on the embedded defaults.

Generates sample data when the landing zone is empty, prepares the dbt manifest, materialises every
asset (all action-log partitions present in the landing zone in one run), then activates (the
Customer.io sync and the card snapshots). It shows one line per step with what this run did; the full
logs go to a file under the data directory.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from ingestion.landing_files import partition_days
from ingestion.paths import DATA_DIR_ENV, PROJECT_ROOT, DataPaths
from ingestion.sources import ACTION_LOGS
from orchestration.run_log import output_to_log

LOG_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def _landing_is_empty(paths: DataPaths) -> bool:
    return not any(p.is_file() for p in paths.landing.rglob("*"))


def _shown(path: Path) -> str:
    """A path as the user can type it from where they are."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _dbt_vars(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('a JSON object, e.g. \'{"as_of": "2026-01-01"}\'')
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="synergy run", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data-dir", default=os.environ.get(DATA_DIR_ENV, "data"),
                   help=f"data directory (${DATA_DIR_ENV} sets the default)")
    p.add_argument("--members", type=int, default=2_000, help="sample members, when generating")
    p.add_argument("--brands", type=int, default=2, help="sample brands, when generating")
    p.add_argument("--days", type=int, default=60, help="days of sample activity, when generating")
    p.add_argument("--seed", type=int, default=42, help="sample data seed, when generating")
    p.add_argument("--dbt-vars", type=_dbt_vars, default={}, metavar="JSON",
                   help='dbt vars for this build, e.g. \'{"as_of": "2026-01-01"}\' (dbt build --vars)')
    p.add_argument("--full-refresh", action="store_true",
                   help="rebuild the incremental dbt models from all their input and stitch every identity "
                        "component again, as a first build would (after upgrading a library they depend on)")
    return p


def run(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ[DATA_DIR_ENV] = os.path.abspath(args.data_dir)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    paths = DataPaths.from_env().ensure()
    log = paths.logs / f"run-{datetime.now():%Y%m%d-%H%M%S}.log"
    with output_to_log(log) as terminal:
        print(f"synergy run {' '.join(argv if argv is not None else sys.argv[2:])}  ({datetime.now().astimezone():%c %Z})")
        console = Console(file=terminal, highlight=False, soft_wrap=True)
        console.print(f"full log: {_shown(log)}")
        try:
            return _run(args, paths, console)
        except Exception as error:  # the traceback is in the log; the terminal gets one line
            traceback.print_exc()
            console.print(f"FAILED: {type(error).__name__}: {error}\nsee {_shown(log)}")
            return 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()


def _run(args: argparse.Namespace, paths: DataPaths, console: Console) -> int:
    if _landing_is_empty(paths):
        from sample_data.generator import Scale, generate

        console.print(f"landing zone {_shown(paths.landing)} is empty: generating sample data ...")
        summary = generate(paths.root, Scale(brands=args.brands, members=args.members, days=args.days, seed=args.seed))
        console.print(f"  {summary['members']:,} members, {summary['action_log_rows_written']:,} action-log rows "
                      f"in {summary['seconds']} s")

    from assets.dbt_project import prepare_dbt_manifest

    started = time.monotonic()
    prepare_dbt_manifest(paths.warehouse)
    console.print(f"dbt manifest parsed in {time.monotonic() - started:.1f} s")
    import dagster as dg

    from orchestration.dead_runs import release_dead_runs
    from orchestration.partitions import daily_partitions
    from orchestration.sensors import partition_range_tags

    days = [d.isoformat() for d in partition_days(paths.landing, ACTION_LOGS.folder)]
    valid = set(daily_partitions.get_partition_keys())
    if any(d not in valid for d in days):
        console.print(f"warning: action-log folders outside the partition range are not loaded: "
                      f"{sorted(d for d in days if d not in valid)[:5]} (set SYNERGY_PARTITIONS_START)")
    days = [d for d in days if d in valid] or [daily_partitions.get_last_partition_key()]
    with dg.DagsterInstance.get() as instance:
        for run_id in release_dead_runs(instance):
            console.print(f"run {run_id} was killed before it finished: marked failed, its pool slots freed")
        build_config = {**LOG_CONFIG, **dbt_run_config(args.dbt_vars, args.full_refresh)}
        success = _execute(instance, console, "build_all", build_config, partition_range_tags(min(days), max(days)),
                           f"action logs {min(days)}..{max(days)}")
        if success:
            # What the automation sensor would start next: the Customer.io sync (a dry run to the
            # outbox without credentials) and the card snapshots.
            success = _execute(instance, console, "activate", LOG_CONFIG, {}, "Customer.io sync, card snapshots")
    _print_outputs(paths, console)
    return 0 if success else 1


def dbt_run_config(dbt_vars: dict[str, Any], full_refresh: bool = False) -> dict:
    """The build_all run config for dbt vars and a full refresh. Both go to every op of the dbt assets (identity
    resolution splits `dbt build` in two); a full refresh also has identity resolution stitch everything."""
    if not dbt_vars and not full_refresh:
        return {}
    from assets.dbt_models import synergy_dbt_models
    from assets.identity import identity_resolution
    from orchestration.definitions import defs

    job = defs.resolve_job_def("build_all")
    dbt_ops = [name for name, node in job.graph.node_dict.items() if node.definition.name == synergy_dbt_models.op.name]
    dbt_config = {"vars": dbt_vars} | ({"full_refresh": True} if full_refresh else {})
    ops = {name: {"config": dbt_config} for name in dbt_ops}
    if full_refresh:
        ops[identity_resolution.op.name] = {"config": {"full_resolution": True}}
    return {"ops": ops}


def _execute(instance, console: Console, job_name: str, run_config: dict, tags: dict, scope: str) -> bool:
    """Runs the job as a run of the code location (listed under the job in the UI), step lines as it goes."""
    import dagster as dg

    from orchestration.code_location import create_location_run, execute_location_run
    from orchestration.run_progress import RunProgress, plan_steps

    job, run = create_location_run(instance, job_name, run_config, tags)
    console.print(f"\n{job_name} ({scope}):")
    started = time.monotonic()
    with RunProgress(console, job_name, plan_steps(instance, run)) as progress:
        for event in execute_location_run(instance, job, run):
            progress.handle(event)
    status = instance.get_run_by_id(run.run_id).status
    success = status == dg.DagsterRunStatus.SUCCESS
    console.print(f"run {run.run_id} {job_name} {'succeeded' if success else 'FAILED'} in "
                  f"{time.monotonic() - started:.0f} s: {progress.summary()}")
    return success


def _print_outputs(paths: DataPaths, console: Console) -> None:
    console.print("\noutputs:")
    console.print(f"  landing zone        {_shown(paths.landing)}")
    console.print(f"  analyst snapshot    {_shown(paths.analytics)}   (open it read-only; never the warehouse)")
    console.print(f"  dbt docs            {_shown(paths.docs / 'index.html')}   (open it in a browser)")
    console.print(f"  warehouse           {_shown(paths.warehouse)}   (the pipeline's own file)")
    console.print(f"  card snapshots      {_shown(paths.cards)}   (served by: python -m serving)")
    console.print(f"  Customer.io sync    {_shown(paths.activation)}   (dry-run bodies in {_shown(paths.outbox)})")
    console.print(f"  ground truth        {_shown(paths.ground_truth)}")
    # The dagster beside this interpreter: the command works as printed without an activated virtualenv.
    dagster = os.path.relpath(Path(sys.executable).parent / "dagster")
    console.print(f"  run history         DAGSTER_HOME={os.environ['DAGSTER_HOME']} {dagster} dev")


def main() -> int:
    argv = sys.argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: synergy run [options]   (synergy run --help lists them with their defaults)")
        return 0 if argv else 2
    if argv[0] == "run":
        return run(argv[1:])
    print(f"unknown command {argv[0]!r}; try: synergy run", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
