"""`synergy run`: the main job end to end on the embedded defaults.

Generates sample data when the landing zone is empty, prepares the dbt manifest,
materialises every asset (all action-log partitions present in the landing zone in one
run), and prints where the outputs are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

from ingestion.landing_files import partition_days
from ingestion.paths import DATA_DIR_ENV, PROJECT_ROOT, DataPaths
from ingestion.sources import ACTION_LOGS
from ingestion.warehouse import connect


def _landing_is_empty(paths: DataPaths) -> bool:
    return not any(p.is_file() for p in paths.landing.rglob("*"))


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="synergy run", description=__doc__)
    parser.add_argument("--data-dir", help=f"data directory (default ${DATA_DIR_ENV} or ./data)")
    parser.add_argument("--members", type=int, default=2_000, help="sample members, when generating")
    parser.add_argument("--brands", type=int, default=2)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    if args.data_dir:
        os.environ[DATA_DIR_ENV] = os.path.abspath(args.data_dir)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home"))
    paths = DataPaths.from_env().ensure()

    if _landing_is_empty(paths):
        from sample_data.generator import Scale, generate

        print(f"landing zone {paths.landing} is empty: generating sample data ...", flush=True)
        summary = generate(paths.root, Scale(brands=args.brands, members=args.members, days=args.days, seed=args.seed))
        print(f"  {summary['members']} members, {summary['action_log_rows_written']} action-log rows in {summary['seconds']} s")

    from assets.dbt_project import prepare_dbt_manifest

    prepare_dbt_manifest()
    warnings.filterwarnings("ignore", module="dagster")
    import dagster as dg

    from orchestration.dead_runs import release_dead_runs
    from orchestration.definitions import defs
    from orchestration.partitions import daily_partitions
    from orchestration.sensors import partition_range_tags

    days = [d.isoformat() for d in partition_days(paths.landing, ACTION_LOGS.folder)]
    valid = set(daily_partitions.get_partition_keys())
    if any(d not in valid for d in days):
        print(f"warning: action-log folders outside the partition range are not loaded: "
              f"{sorted(d for d in days if d not in valid)[:5]} (set SYNERGY_PARTITIONS_START)")
    days = [d for d in days if d in valid] or [daily_partitions.get_last_partition_key()]
    logging = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    with dg.DagsterInstance.get() as instance:
        for run_id in release_dead_runs(instance):
            print(f"run {run_id} was killed before it finished: marked failed, its pool slots freed")
        result = defs.resolve_job_def("build_all").execute_in_process(
            instance=instance, tags=partition_range_tags(min(days), max(days)), raise_on_error=False, run_config=logging)
        print(f"run {result.run_id}: {'succeeded' if result.success else 'FAILED'} ({min(days)}..{max(days)})")
        if result.success:
            # What the automation sensor would start next: the Customer.io sync (a dry run to the
            # outbox without credentials) and the card snapshots.
            activation = defs.resolve_job_def("activate").execute_in_process(
                instance=instance, raise_on_error=False, run_config=logging)
            print(f"run {activation.run_id} (activate): {'succeeded' if activation.success else 'FAILED'}")
            result = activation
    _print_outputs(paths)
    return 0 if result.success else 1


def _print_outputs(paths: DataPaths) -> None:
    if not paths.analytics.exists():
        return
    con = connect(paths.analytics, read_only=True)
    try:
        files = con.execute(
            "SELECT source, count(*) AS files, sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate) "
            "FROM audit.ingested_files GROUP BY ALL ORDER BY 1").fetchall()
        reasons = con.execute("SELECT reason, count(*) FROM audit.quarantine GROUP BY ALL ORDER BY 2 DESC").fetchall()
    finally:
        con.close()
    print("\ningested (files, read, loaded, quarantined, duplicate):")
    for source, *counts in files:
        print(f"  {source:32s} {counts}")
    print(f"quarantine reasons: {json.dumps(dict(reasons))}")
    print("\noutputs:")
    print(f"  landing zone        {paths.landing}")
    print(f"  warehouse (pipeline only) {paths.warehouse}")
    print(f"  analyst snapshot    {paths.analytics}   (open it read-only; never the warehouse)")
    print(f"  card snapshots      {paths.cards}   (served by: python -m serving)")
    print(f"  Customer.io sync    {paths.activation}   (dry-run bodies in {paths.outbox})")
    print(f"  ground truth        {paths.ground_truth}")
    # The dagster beside this interpreter: the command works as printed without an activated virtualenv.
    dagster = os.path.relpath(Path(sys.executable).parent / "dagster")
    print(f"  run history         DAGSTER_HOME={os.environ['DAGSTER_HOME']} {dagster} dev")


def main() -> int:
    argv = sys.argv[1:]
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: synergy run [--data-dir DIR] [--members N] [--brands N] [--days N] [--seed N]")
        return 0 if argv else 2
    if argv[0] == "run":
        return run(argv[1:])
    print(f"unknown command {argv[0]!r}; try: synergy run", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
