"""python -m benchmarks.marts [--members 100000 1000000] [--quick]

Build time and peak memory of the feature, achievement and card models (dbt build: models and
their tests) at member scales, and then of the measurement models (prediction history and quality,
program KPIs) that read them. For each scale: generate sample data, ingest it, build staging,
identity and the Customer 360 marts (not measured), then measure the dbt build of the three
layers in its own process, then of the measurement layers. Results print as a table and are saved
under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from assets.dbt_project import DBT_PROJECT_DIR
from benchmarks.measure import machine, run_measured, scratch_root, write_result
from ingestion.paths import DATA_DIR_ENV

LAYERS = ["models/intermediate/features", "models/marts/features", "models/intermediate/achievements",
          "models/marts/achievements", "models/intermediate/cards", "models/marts/cards", "seeds/features",
          "seeds/cards"]
MEASUREMENT = ["models/marts/predictions", "models/intermediate/kpis", "models/marts/kpis"]
# Identity resolution, then the erasure step (the upstream models read what it records), as the pipeline runs them.
RESOLVE = ("import duckdb, sys; from identity.resolve import resolve; from erasure.redact import redact_erased; "
           "con = duckdb.connect(sys.argv[1]); print(resolve(con)); print(redact_erased(con)); con.close()")


def dbt(args: list[str], warehouse: Path) -> dict:
    dbt_bin = str(Path(sys.executable).with_name("dbt"))
    return run_measured(["-c", "import sys, subprocess; sys.exit(subprocess.call(sys.argv[1:]))", dbt_bin, *args,
                         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
                        env={"SYNERGY_WAREHOUSE_PATH": str(warehouse)})


def measure(root: Path, members: int) -> dict:
    run_measured(["-m", "sample_data", "--out", str(root), "--members", str(members), "--days", "60",
                  "--as-of", "2026-11-01"])
    run_measured(["-m", "ingestion"], env={DATA_DIR_ENV: str(root)})
    warehouse = root / "warehouse.duckdb"
    selection = [f"path:{layer}" for layer in LAYERS]
    measurement = [f"path:{layer}" for layer in MEASUREMENT]
    dbt(["build", "--select", "+int_identity__links"], warehouse)
    run_measured(["-c", RESOLVE, str(warehouse)])
    # Everything else upstream; what reads the measured layers (the Customer.io marts too) is left out.
    dbt(["build", "--exclude", *[f"{layer}+" for layer in selection + measurement], "+int_identity__links"], warehouse)
    measured = dbt(["build", "--select", *selection], warehouse)
    measured.pop("stdout")
    # The measurement models judge churn after 30 days so that 60 days of sample data have something to judge.
    measured_after = dbt(["build", "--select", *measurement, "--vars", '{"churn_inactive_days": 30}'], warehouse)
    measured_after.pop("stdout")
    return {"members": members, **measured,
            "measurement": {"seconds": measured_after["seconds"], "peak_rss_mb": measured_after["peak_rss_mb"]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--quick", action="store_true", help="5,000 members, checks the harness")
    parser.add_argument("--scratch", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.members = [5_000]
    report = {"machine": machine(), "runs": []}
    print(f"machine: {report['machine']}", flush=True)
    print("features + achievements + cards: dbt build (models and their tests), wall time and peak RSS", flush=True)
    for members in args.members:
        root = scratch_root("synergy-bench-marts-", args.scratch)
        try:
            run = measure(root / "data", members)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        report["runs"].append(run)
        after = run["measurement"]
        print(f"{members:>10,} members  {run['seconds']:>8.1f} s  peak {run['peak_rss_mb']:>8.0f} MB   "
              f"predictions + kpis {after['seconds']:>8.1f} s  peak {after['peak_rss_mb']:>8.0f} MB", flush=True)
    print(f"saved {write_result('marts', report)}")
    print(json.dumps(report["runs"]))


if __name__ == "__main__":
    main()
