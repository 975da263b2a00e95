"""python -m sample_data --members 2000 --brands 2 --days 60 --out data   (then --append-days 1 for the next day)"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from ingestion.paths import DataPaths
from sample_data.append import append_days
from sample_data.card_feedback import VISIT_SHARE
from sample_data.generator import Scale, generate
from sample_data.predictions import ChurnModel


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Write a deterministic sample landing zone.")
    parser.add_argument("--out", type=Path, default=None, help="data directory (default: $SYNERGY_DATA_DIR or ./data)")
    parser.add_argument("--brands", type=int, default=Scale.brands)
    parser.add_argument("--members", type=int, default=Scale.members)
    parser.add_argument("--days", type=int, default=Scale.days)
    parser.add_argument("--events-per-member", type=float, default=Scale.events_per_member)
    parser.add_argument("--seed", type=int, default=Scale.seed)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="last day (exclusive), default today (UTC)")
    parser.add_argument("--format", choices=["ndjson", "parquet"], default="ndjson", help="action-log file format")
    parser.add_argument("--churn-window-days", type=int, default=ChurnModel.window_days, metavar="N",
                        help="churn is N days without an action: predictions are judged (and drawn to separate churners "
                             "with a known AUC) where the data shows N days after them; the warehouse's var "
                             "churn_inactive_days must match")
    parser.add_argument("--churn-degraded-runs", type=int, default=0, metavar="N",
                        help="the last N judged scoring runs come from a worse model (AUC 0.70 instead of 0.85)")
    parser.add_argument("--append-days", type=int, default=0, metavar="N",
                        help="add N more days to the data already in --out (the other options come from it)")
    parser.add_argument("--daily-visitors", type=float, default=VISIT_SHARE, metavar="SHARE",
                        help="with --append-days: the share of members with published cards who open the app each day "
                             "(default %(default)s, dense so a small sample reads out experiments in a day; about 0.05 "
                             "is a real program's)")
    args = parser.parse_args(argv)
    root = args.out.resolve() if args.out else DataPaths.from_env().root
    if args.append_days:
        if not 0 <= args.daily_visitors <= 1:
            parser.error("--daily-visitors is a share between 0 and 1")
        summary = append_days(root, args.append_days, args.daily_visitors)
        print(json.dumps(summary, indent=2))
        return summary
    kwargs = dict(brands=args.brands, members=args.members, days=args.days, events_per_member=args.events_per_member,
                  seed=args.seed, action_log_format=args.format,
                  churn=ChurnModel(window_days=args.churn_window_days, degraded_runs=args.churn_degraded_runs))
    if args.as_of:
        kwargs["as_of"] = args.as_of
    summary = generate(root, Scale(**kwargs))
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
