"""python -m tests.spark.ingest_child LANDING STORE [--batch-bytes N] [--hold-before-commit K]

A Spark ingestion process for the crash test: loads every NDJSON source of the landing zone into the Spark
raw layer at STORE, one line per file on stdout. With --hold-before-commit K it prints `written <batch id>` once
the K-th batch's files are written and, before that batch's commit point, waits for its stdin, so the test can
kill it exactly there."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.spark import build_session
from ingestion.spark_loader import load_landing_zone_spark
from ingestion.spark_store import SparkStore
from tests.ingestion.helpers import NOW
from tests.spark.test_ingestion import NDJSON_SOURCES


# A second application beside the tests' own session: one core and a small driver.
CHILD_CONF = {"spark.cores.max": "1", "spark.executor.memory": "768m", "spark.driver.memory": "1g",
              "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("landing", type=Path)
    parser.add_argument("store", type=Path)
    parser.add_argument("--batch-bytes", type=int, default=800_000)
    parser.add_argument("--hold-before-commit", type=int, default=0)
    args = parser.parse_args()
    written = 0

    def before_commit(batch_id: str, results) -> None:
        nonlocal written
        written += 1
        if written == args.hold_before_commit:
            print(f"written {batch_id}", flush=True)
            sys.stdin.readline()  # the test kills this process here

    spark = build_session(app_name="synergy-ingest-child", conf=CHILD_CONF)
    results = load_landing_zone_spark(spark, args.landing, SparkStore(args.store), NDJSON_SOURCES, now=NOW,
                                      batch_bytes=args.batch_bytes, before_commit=before_commit,
                                      on_file=lambda r: print(json.dumps(r.as_dict()), flush=True))
    spark.stop()
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
