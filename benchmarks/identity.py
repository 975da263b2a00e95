"""python -m benchmarks.identity [--links 1000000 10000000] [--quick]

Identity resolution time and peak memory, against two independent connected-components
implementations on the same links (one link = one record with two identifiers = one edge):

- ours: `identity.resolve.resolve` end to end (load, stitch with the rules, write the tables);
- ours, no rules: `load_graph` + `stitch` with every limit and max_merge out of reach, which is
  plain connected components and must find as many components as the baselines;
- networkx: read the edge table, build `nx.Graph`, `nx.connected_components`;
- splink: `cluster_pairwise_predictions_at_threshold` on DuckDB (every edge is a link).

Each scale's links are generated once (benchmarks.identity_links); each implementation then runs
in its own process, so its peak RSS is its own. Baselines get the edges already numbered as
integers; ours starts from the identifier strings. Results print as a table and are saved under
benchmarks/results/. Requires the `bench` extra (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.measure import machine, run_measured, scratch_root, write_result

IMPLEMENTATIONS = {"ours": "ours (resolve)", "plain": "ours, no rules", "networkx": "networkx", "splink": "splink"}
BASELINES = ("plain", "networkx", "splink")  # plain connected components: their counts must agree


# --- children: each prints one JSON line -------------------------------------------------

def run_ours(db: str) -> dict:
    import duckdb

    import identity.resolve as resolve_module

    # Time the two inner steps from the outside: resolve looks both names up in its module.
    timings: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            result = fn(*args, **kwargs)
            timings[name] = round(time.perf_counter() - started, 3)
            return result
        return wrapper

    resolve_module.load_graph = timed("load_seconds", resolve_module.load_graph)
    resolve_module.stitch = timed("stitch_seconds", resolve_module.stitch)
    with duckdb.connect(db) as con:
        summary = resolve_module.resolve(con)
    return {"work_seconds": summary.seconds, **timings, "components": summary.profiles, "records": summary.records,
            "identifiers": summary.identifiers, "rejected_links": summary.rejected_links,
            "review_queue": summary.review_queue, "largest": summary.largest_profile,
            "replayed_components": summary.replayed_components}


def run_plain(db: str) -> dict:
    import duckdb
    import numpy as np

    from identity.resolve import NO_LIMIT, load_graph
    from identity.stitch import stitch

    started = time.perf_counter()
    with duckdb.connect(db, read_only=True) as con:
        graph = load_graph(con, max_merge=NO_LIMIT)
    loaded = time.perf_counter()
    # No limit can be exceeded and no record can touch too many profiles: no rule ever fires.
    result = stitch(replace(graph, limits=np.full_like(graph.limits, NO_LIMIT), max_merge=NO_LIMIT))
    done = time.perf_counter()
    sizes = np.bincount(result.profile)
    return {"work_seconds": round(done - started, 3), "load_seconds": round(loaded - started, 3),
            "stitch_seconds": round(done - loaded, 3), "components": len(sizes), "largest": int(sizes.max()),
            "replayed_components": result.replayed_components}


def run_networkx(db: str) -> dict:
    import duckdb
    import networkx as nx

    started = time.perf_counter()
    with duckdb.connect(db, read_only=True) as con:
        edges = con.sql("select left_id, right_id from main.baseline_edges").fetchnumpy()
    read = time.perf_counter()
    graph = nx.Graph()
    graph.add_edges_from(zip(edges["left_id"].tolist(), edges["right_id"].tolist()))
    del edges
    built = time.perf_counter()
    sizes = [len(c) for c in nx.connected_components(graph)]
    done = time.perf_counter()
    return {"work_seconds": round(done - started, 3), "read_seconds": round(read - started, 3),
            "build_seconds": round(built - read, 3), "cc_seconds": round(done - built, 3),
            "components": len(sizes), "largest": max(sizes), "nodes": graph.number_of_nodes()}


def run_splink(db: str) -> dict:
    import logging

    import duckdb
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    # Count the label-propagation rounds: splink logs one line per round.
    rounds = []
    log = logging.getLogger("splink.internals.connected_components")
    log.setLevel(logging.INFO)
    log.addHandler(type("Rounds", (logging.Handler,), {"emit": lambda self, r: rounds.append(r)})())
    log.propagate = False

    started = time.perf_counter()
    con = duckdb.connect()  # in memory, as DuckDBAPI() would be; the links file is read in place
    con.execute(f"attach '{db}' as src (read_only)")
    clusters = cluster_pairwise_predictions_at_threshold(
        "src.main.baseline_nodes", "src.main.baseline_edges", db_api=DuckDBAPI(connection=con),
        node_id_column_name="node_id", edge_id_column_name_left="left_id", edge_id_column_name_right="right_id")
    components, largest = con.execute(f"""select count(*), max(size) from
        (select cluster_id, count(*) as size from {clusters.physical_name} group by cluster_id)""").fetchone()
    done = time.perf_counter()
    con.close()
    return {"work_seconds": round(done - started, 3), "components": components, "largest": largest,
            "iterations": sum("Completed iteration" in r.getMessage() for r in rounds)}


CHILDREN = {"ours": run_ours, "plain": run_plain, "networkx": run_networkx, "splink": run_splink}


# --- parent ------------------------------------------------------------------------------

def generate(path: Path, links: int) -> dict:
    result = run_measured(["-m", "benchmarks.identity_links", "--out", str(path), "--links", str(links)])
    return {**json.loads(result.pop("stdout")), "process_seconds": result["seconds"], "peak_rss_mb": result["peak_rss_mb"]}


def measure(impl: str, links: int, db: Path, timeout: int) -> dict:
    row = {"implementation": impl, "links": links}
    try:
        result = run_measured(["-m", "benchmarks.identity", "--child", impl, "--db", str(db), "--timeout", str(timeout)])
    except RuntimeError as error:  # a baseline running out of memory or time is a result, not a crash
        message = str(error)
        if f"failed ({-signal.SIGALRM})" in message:
            message = f"timed out after {timeout} s"
        elif f"failed ({-signal.SIGKILL})" in message:
            message = "killed (out of memory?)"
        return {**row, "error": message[-2000:]}
    return {**row, "seconds": result["seconds"], "peak_rss_mb": result["peak_rss_mb"],
            **json.loads(result["stdout"].strip().splitlines()[-1])}


def run_scale(scratch: Path, links: int, timeout: int) -> dict:
    source = scratch / f"links-{links}.duckdb"
    scale = {"links": links, "generator": generate(source, links), "runs": []}
    g = scale["generator"]
    print(f"\nlinks {links:,}: generated in {g['process_seconds']:.1f} s (peak {g['peak_rss_mb']:,.0f} MB), "
          f"{g['identifiers']:,} identifiers, {g['chains']} chains of {g['chain_length']:,}, file {g['file_mb']:,.0f} MB",
          flush=True)
    print(HEADER, flush=True)
    for impl in IMPLEMENTATIONS:
        db = source
        if impl == "ours":  # resolve writes its tables into the file: give it a copy
            db = scratch / "ours.duckdb"
            shutil.copyfile(source, db)
        row = measure(impl, links, db, timeout)
        scale["runs"].append(row)
        print_row(row, scale["runs"][0])
        if db != source:
            db.unlink()
    source.unlink()
    counts = {r["implementation"]: r.get("components") for r in scale["runs"] if r["implementation"] in BASELINES}
    # None: some implementation failed, so there is nothing to compare.
    scale["components_agree"] = None if None in counts.values() else len(set(counts.values())) == 1
    verdict = {True: "yes", False: "NO", None: "not checked"}[scale["components_agree"]]
    print(f"plain connected components agree: {verdict} "
          f"({', '.join(f'{IMPLEMENTATIONS[k]} {v:,}' if v is not None else f'{IMPLEMENTATIONS[k]} failed' for k, v in counts.items())})",
          flush=True)
    return scale


HEADER = (f"{'implementation':<16} {'links':>11} {'wall s':>8} {'work s':>8} {'peak MB':>9} {'components':>11} "
          f"{'x time':>7} {'x memory':>8}  details")


def print_row(row: dict, ours: dict) -> None:
    name = IMPLEMENTATIONS[row["implementation"]]
    if "error" in row:
        print(f"{name:<16} {row['links']:>11,} failed: {row['error'].splitlines()[0]}", flush=True)
        return
    time_ratio = f"{row['seconds'] / ours['seconds']:.2f}" if "seconds" in ours else "-"
    mem_ratio = f"{row['peak_rss_mb'] / ours['peak_rss_mb']:.2f}" if "peak_rss_mb" in ours else "-"
    print(f"{name:<16} {row['links']:>11,} {row['seconds']:>8.1f} {row['work_seconds']:>8.1f} {row['peak_rss_mb']:>9,.0f} "
          f"{row['components']:>11,} {time_ratio:>7} {mem_ratio:>8}  {details(row)}", flush=True)


def details(row: dict) -> str:
    impl = row["implementation"]
    if impl == "ours":
        return (f"load {row.get('load_seconds', 0):.1f} s, stitch {row.get('stitch_seconds', 0):.1f} s, "
                f"{row['replayed_components']:,} components replayed, {row['rejected_links']:,} links rejected")
    if impl == "plain":
        return f"load {row['load_seconds']:.1f} s, stitch {row['stitch_seconds']:.1f} s, largest {row['largest']:,}"
    if impl == "networkx":
        return (f"read {row['read_seconds']:.1f} s, build {row['build_seconds']:.1f} s, "
                f"components {row['cc_seconds']:.1f} s, largest {row['largest']:,}")
    return f"{row['iterations']:,} iterations, largest {row['largest']:,}"


def child(impl: str, db: str, timeout: int) -> None:
    # The default SIGALRM action ends the process even inside a long C call.
    signal.alarm(timeout)
    print(json.dumps(CHILDREN[impl](db)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, nargs="+", default=[1_000_000, 10_000_000], help="link scales")
    parser.add_argument("--quick", action="store_true", help="20k and 100k links, to check the harness itself")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one implementation may run at one scale")
    parser.add_argument("--scratch", type=Path, default=None, help="where to write data (default: a temp dir)")
    parser.add_argument("--child", choices=list(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, args.timeout)
        return
    if args.quick:
        args.links = [20_000, 100_000]
    report = {"machine": machine(), "timeout_seconds": args.timeout, "scales": []}
    print(f"machine: {report['machine']}")
    print("wall s: the whole process (start-up and imports included); work s: measured inside it; "
          "components: profiles for ours (resolve); x time / x memory: wall s and peak MB against ours (resolve)")
    scratch = scratch_root("synergy-bench-identity-", args.scratch)
    try:
        for links in args.links:
            report["scales"].append(run_scale(scratch, links, args.timeout))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    path = write_result("identity", report)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
