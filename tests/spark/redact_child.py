"""python -m tests.spark.redact_child DATA_ROOT [--prepare LANDING] [--hold-before-commit | --hold-after-swaps K]

A Spark process for the erasure tests, on the warehouse and metastore the environment names. With --prepare it first
loads the erasure tests' landing zone LANDING (tests/erasure/erased_member.py) into DATA_ROOT's raw layer and creates the
identity and derived tables; then it runs the erasure redaction and prints its summary as JSON. With a hold it prints
`holding` at that point (before the journal is committed, or after K folders were swapped) and waits for its stdin,
so the test can kill it exactly there."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from engine.settings import SparkSettings
from engine.spark import build_session
from erasure import folder_swap
from erasure.spark_redact import redact_erased_spark
from ingestion.spark_loader import load_landing_zone_spark
from tests.erasure.erased_member import BUILT_TABLES, SOURCES
from tests.ingestion.helpers import NOW

# A second application beside the tests' own session: one core and a small driver.
CHILD_CONF = {"spark.cores.max": "1", "spark.executor.memory": "768m", "spark.driver.memory": "1g",
              "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"}


def hold() -> None:
    print("holding", flush=True)
    sys.stdin.readline()  # the test kills this process here


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_root", type=Path)
    parser.add_argument("--prepare", type=Path, help="the landing zone to copy and load")
    parser.add_argument("--hold-before-commit", action="store_true")
    parser.add_argument("--hold-after-swaps", type=int, default=0)
    args = parser.parse_args()
    spark = build_session(app_name="synergy-redact-child", conf=CHILD_CONF)
    if args.prepare:
        load_landing_zone_spark(spark, args.prepare, sources=list(SOURCES), now=NOW)
        for name, sql in BUILT_TABLES.items():
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {name.split('.')[0]}")
            spark.sql(f"CREATE TABLE {name} USING parquet AS {sql}")
    if args.hold_before_commit:
        commit = folder_swap.commit
        folder_swap.commit = lambda *a: (hold(), commit(*a))
    if args.hold_after_swaps:
        swap, swapped = folder_swap.swap_into_place, []

        def swap_then_hold(s):
            swap(s)
            swapped.append(s)
            if len(swapped) == args.hold_after_swaps:
                hold()
        folder_swap.swap_into_place = swap_then_hold
    summary = redact_erased_spark(spark, SparkSettings.from_env().warehouse, now=NOW)
    print(json.dumps(asdict(summary)), flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
