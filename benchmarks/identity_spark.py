"""python -m benchmarks.identity_spark [--links 100000] [--workers 1 2]

Identity resolution on a local Spark standalone cluster (engine.spark_cluster, 1 core and 1 GB per
worker) against splink's Spark connected components, on the same links (benchmarks.identity_links,
exported once to Parquet that every implementation reads):

- ours on spark: `identity.spark_resolve.resolve` end to end (numbering, components, rules, ids, the
  journalled write), reporting its connected-components rounds;
- ours, components only: `identity.connected_components` on the numbered edges (no rules);
- splink on spark: `cluster_pairwise_predictions_at_threshold` with splink's SparkAPI (every edge is a link),
  in splink's own virtualenv (benchmarks/splink_env.py, made on first use; benchmarks/splink_components.py).

The two plain components implementations must find as many components. Each implementation runs
in its own process against the same cluster, with its own metastore; wall seconds include starting
the Spark driver. Results print as a table and are saved under benchmarks/results/.
Requires the `spark` and `bench` extras.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.identity import generate
from benchmarks.measure import machine, run_measured, write_result
from benchmarks.splink_env import splink_python

IMPLEMENTATIONS = {"resolve": "ours on spark", "components": "ours, components only", "splink": "splink on spark"}
INPUTS = ("intermediate.int_identity__links", "intermediate.int_identity__observations",
          "intermediate.int_identity__identifiers")
MASTER_ENV = "BENCH_SPARK_MASTER"


def _session(scratch: Path, name: str):
    from engine.settings import SparkSettings
    from engine.spark import build_session

    settings = SparkSettings(os.environ[MASTER_ENV], scratch / f"warehouse-{name}", scratch / f"metastore-{name}")
    session = build_session(settings, app_name=f"bench-{name}",
                            conf={"spark.executor.memory": "768m", "spark.sql.shuffle.partitions": "8"})
    session.sparkContext.setLogLevel("ERROR")
    return session


def run_resolve(scratch: Path) -> dict:
    from identity.spark_resolve import resolve

    spark = _session(scratch, "resolve")
    for table in INPUTS:
        spark.sql(f"create database if not exists {table.split('.')[0]}")
        spark.read.parquet(str(scratch / f"{table}.parquet")).write.mode("overwrite").saveAsTable(table)
    summary = resolve(spark)
    return {"work_seconds": summary.seconds, "components": summary.profiles, "rounds": summary.rounds,
            "replayed_components": summary.replayed_components, "rejected_links": summary.rejected_links}


def _components_figures(labels, column: str) -> tuple[int, int]:
    from pyspark.sql import functions as F

    sizes = labels.groupBy(column).count()
    row = sizes.agg(F.count("*"), F.max("count")).first()
    return int(row[0]), int(row[1])


def run_components(scratch: Path) -> dict:
    from pyspark.sql import functions as F

    from identity.connected_components import connected_components

    spark = _session(scratch, "components")
    edges = spark.read.parquet(str(scratch / "baseline_edges.parquet"))
    nodes = spark.read.parquet(str(scratch / "baseline_nodes.parquet"))
    started = time.perf_counter()
    result = connected_components(edges.select(F.col("left_id").alias("a"), F.col("right_id").alias("b")),
                                  nodes.select(F.col("node_id").alias("node")))
    components, largest = _components_figures(result.labels, "component")
    return {"work_seconds": round(time.perf_counter() - started, 3), "components": components, "largest": largest,
            "rounds": result.rounds}


CHILDREN = {"resolve": run_resolve, "components": run_components}


def export(db: Path, scratch: Path) -> None:
    """The generated warehouse's tables as Parquet, the one input every implementation reads."""
    with duckdb.connect(str(db), read_only=True) as con:
        for table in (*INPUTS, "main.baseline_edges", "main.baseline_nodes"):
            name = table if table.startswith("intermediate") else table.split(".")[1]
            con.execute(f"copy (select * from {table}) to '{scratch / f'{name}.parquet'}' (format parquet)")


def measure_child(impl: str, scratch: Path, master: str) -> dict:
    if impl == "splink":
        return run_measured(["-m", "benchmarks.splink_components", master, str(scratch)], python=splink_python())
    return run_measured(["-m", "benchmarks.identity_spark", "--child", impl, "--scratch", str(scratch)],
                        env={MASTER_ENV: master})


def run_workers(scratch: Path, links: int, workers: int) -> list[dict]:
    from engine.spark_cluster import start_cluster

    rows = []
    with start_cluster(workers=workers, cores=1, memory="1g", log_dir=scratch / f"cluster-{workers}") as cluster:
        for impl, name in IMPLEMENTATIONS.items():
            row = {"implementation": impl, "links": links, "workers": workers}
            try:
                result = measure_child(impl, scratch, cluster.master_url)
                row |= {"seconds": result["seconds"], **json.loads(result["stdout"].strip().splitlines()[-1])}
            except RuntimeError as error:  # an implementation failing is a result, not a crash of the benchmark
                row["error"] = str(error)[-2000:]
            rows.append(row)
            extra = ", ".join(f"{k} {row[k]}" for k in ("rounds", "largest", "replayed_components") if k in row)
            print(f"{name:<24} {links:>10,} {workers:>7} " + (f"failed: {row['error'].strip().splitlines()[-1]}" if "error" in row else
                  f"{row['seconds']:>8.1f} {row['work_seconds']:>8.1f} {row['components']:>11,}  {extra}"), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args.scratch)))
        return
    scratch = Path(tempfile.mkdtemp(prefix="synergy-bench-identity-spark-"))
    try:
        generated = generate(scratch / "links.duckdb", args.links)
        export(scratch / "links.duckdb", scratch)
        print(f"machine: {machine()}\nlinks {args.links:,}: {generated['identifiers']:,} identifiers, "
              f"{generated['chains']} chains of {generated['chain_length']:,}")
        print(f"{'implementation':<24} {'links':>10} {'workers':>7} {'wall s':>8} {'work s':>8} {'components':>11}  details")
        runs = [row for workers in args.workers for row in run_workers(scratch, args.links, workers)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    plain = {r.get("components") for r in runs if r["implementation"] in ("components", "splink")}
    agree = None if None in plain else len(plain) == 1
    print(f"plain connected components agree: {({True: 'yes', False: 'NO', None: 'not checked'})[agree]}")
    print(f"saved {write_result('identity_spark', {'machine': machine(), 'links': args.links, 'runs': runs, 'components_agree': agree})}")


if __name__ == "__main__":
    main()
