"""python -m benchmarks [--quick] [--members 1000000] [--events 1000000 10000000]

Foundation figures: sample-data generator time at a member scale, and ingestion
throughput (events/s, peak memory) for NDJSON.gz and Parquet action logs at event scales.
Everything runs on this machine in a scratch directory; results print as a table and are
saved under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from benchmarks.measure import machine, run_measured, scratch_root, write_result
from ingestion.paths import DATA_DIR_ENV

EVENTS_PER_MEMBER = 10


def generate(root: Path, members: int, fmt: str, days: int = 60) -> dict:
    result = run_measured(["-m", "sample_data", "--out", str(root), "--members", str(members), "--days", str(days),
                           "--events-per-member", str(EVENTS_PER_MEMBER), "--format", fmt, "--as-of", "2026-11-01"])
    summary = json.loads(result.pop("stdout"))
    return {**result, "members": members, "format": fmt, "action_log_rows": summary["action_log_rows_written"],
            "landing_mb": round(sum(p.stat().st_size for p in (root / "landing").rglob("*") if p.is_file()) / 2**20, 1)}


def ingest(root: Path) -> dict:
    result = run_measured(["-m", "ingestion", "--source", "app_action_logs"], env={DATA_DIR_ENV: str(root)})
    files = [json.loads(line) for line in result.pop("stdout").splitlines() if line.startswith("{")]
    rows = sum(f["rows_read"] for f in files)
    return {**result, "files": len(files), "rows_read": rows, "rows_loaded": sum(f["rows_loaded"] for f in files),
            "events_per_second": round(rows / result["seconds"]),
            "warehouse_mb": round((root / "warehouse.duckdb").stat().st_size / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000, help="generator scale to time (0: skip)")
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000], help="ingestion scales")
    parser.add_argument("--formats", nargs="+", default=["ndjson", "parquet"])
    parser.add_argument("--quick", action="store_true", help="small scales, to check the harness itself")
    parser.add_argument("--scratch", type=Path, default=None, help="where to write data (default: a temp dir)")
    args = parser.parse_args()
    if args.quick:
        args.members, args.events = 5_000, [20_000, 50_000]
    scratch = scratch_root("synergy-bench-", args.scratch)
    report = {"machine": machine(), "generator": None, "ingestion": []}
    print(f"machine: {report['machine']}", flush=True)
    try:
        if args.members:
            gen_root = scratch / "generator"
            report["generator"] = g = generate(gen_root, args.members, "ndjson")
            print(f"generator  {g['members']:>10,} members  {g['action_log_rows']:>11,} action-log rows  "
                  f"{g['seconds']:>8.1f} s  peak {g['peak_rss_mb']:>8.0f} MB  landing {g['landing_mb']:,.0f} MB", flush=True)
            shutil.rmtree(gen_root)
        for events in args.events:
            for fmt in args.formats:
                root = scratch / f"ingest-{events}-{fmt}"
                gen = generate(root, max(1, events // EVENTS_PER_MEMBER), fmt)
                row = {"events_target": events, "format": fmt, **ingest(root), "generated_rows": gen["action_log_rows"]}
                report["ingestion"].append(row)
                print(f"ingest     {fmt:8s} {row['rows_read']:>11,} rows  {row['files']:>4} files  {row['seconds']:>8.1f} s  "
                      f"{row['events_per_second']:>10,} events/s  peak {row['peak_rss_mb']:>8.0f} MB  "
                      f"warehouse {row['warehouse_mb']:,.0f} MB", flush=True)
                shutil.rmtree(root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    path = write_result("foundation", report)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
