"""python -m benchmarks.publishing [--members 1000000] [--changed 0.05] [--scratch DIR]

Card snapshot publishing at scale. Generates N valid member card documents (2-4 cards, 1-3 KB)
into a DuckDB `marts.member_card_documents` table, then measures, each in its own process:
1. a full publish of N (validate, store, switch) from the warehouse;
2. a publish after a rebuild in which every generated_at moved and `--changed` of the members changed;
3. garbage collection dropping the first version;
4. random reads through CardStoreReader.
Store size on disk includes the WAL after checkpoint. Results print and are saved under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.measure import machine, run_measured, scratch_root, write_result

GENERATE_BATCH = 50_000
REBUILT_AT = "2026-11-21T06:00:00Z"


def generate(warehouse: Path, members: int) -> dict:
    """The mart as the dbt build would leave it, plus the (empty) erasure requests table."""
    import duckdb

    from publishing.sample_documents import member_documents

    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
    con.execute("CREATE TABLE marts.member_card_documents "
                "(brand_id INTEGER, user_id INTEGER, profile_id VARCHAR, document JSON)")
    con.execute("CREATE TABLE staging.stg_app__erasure_requests "
                "(brand_id INTEGER, user_id INTEGER, requested_at TIMESTAMP)")
    documents = member_documents(members)
    total_bytes = 0
    while batch := list(itertools.islice(documents, GENERATE_BATCH)):
        total_bytes += sum(len(body) for _, _, body in batch)
        _insert(con, "marts.member_card_documents", batch)
    con.close()
    return {"members": members, "mean_document_bytes": round(total_bytes / members)}


def _insert(con, table: str, batch: list[tuple[int, int, bytes]]) -> None:
    import pyarrow as pa

    arrow = pa.table({"brand_id": [b for b, _, _ in batch], "user_id": [u for _, u, _ in batch],
                      "document": [body.decode() for _, _, body in batch]})
    con.register("batch", arrow)
    con.execute(f"INSERT INTO {table} SELECT brand_id, user_id, "
                "json_extract_string(document, '$.profile_id'), document::JSON FROM batch")
    con.unregister("batch")


def rebuild(warehouse: Path, changed: float) -> dict:
    """A new build: every generated_at moves; a random `changed` share of members gets new content."""
    import duckdb
    import orjson

    from publishing.sample_documents import GENERATED_AT, member_document

    con = duckdb.connect(str(warehouse))
    members = con.execute("SELECT brand_id, user_id FROM marts.member_card_documents").fetchall()
    chosen = random.Random(1).sample(members, round(len(members) * changed))
    con.execute("CREATE TEMP TABLE rebuilt (brand_id INTEGER, user_id INTEGER, profile_id VARCHAR, document JSON)")
    for start in range(0, len(chosen), GENERATE_BATCH):
        _insert(con, "rebuilt", [(b, u, orjson.dumps(member_document(b, u, revision=1, generated_at=REBUILT_AT)))
                                 for b, u in chosen[start:start + GENERATE_BATCH]])
    # One pass (an in-place UPDATE of a million JSON values takes minutes and gigabytes).
    con.execute(f"""
        CREATE TABLE marts.rebuilt_documents AS
        SELECT m.brand_id, m.user_id, m.profile_id,
               coalesce(r.document, replace(m.document::VARCHAR, '"generated_at":"{GENERATED_AT}"',
                                            '"generated_at":"{REBUILT_AT}"')::JSON) AS document
        FROM marts.member_card_documents AS m LEFT JOIN rebuilt AS r USING (brand_id, user_id)""")
    con.execute("DROP TABLE marts.member_card_documents")
    con.execute("ALTER TABLE marts.rebuilt_documents RENAME TO member_card_documents")
    con.close()
    return {"changed_members": len(chosen)}


def publish(warehouse: Path, cards: Path) -> dict:
    import duckdb

    from publishing.card_store import disk_usage
    from publishing.publish import publish_from_warehouse

    con = duckdb.connect(str(warehouse), read_only=True)
    result = publish_from_warehouse(con, cards, retention=timedelta(hours=72))
    con.close()
    return {**result.__dict__, "store_mb": round(disk_usage(cards) / 2**20, 1)}


def collect(cards: Path) -> dict:
    from publishing.card_store import CardStoreWriter, disk_usage

    with CardStoreWriter(cards) as writer:
        result = writer.collect_garbage(timedelta(0), keep_versions=1)
    return {**result.__dict__, "store_mb": round(disk_usage(cards) / 2**20, 1)}


def read(cards: Path, members: int, reads: int = 100_000) -> dict:
    from publishing.card_store import CardStoreReader

    reader = CardStoreReader(cards)
    rng = random.Random(2)
    started = time.perf_counter()
    found = 0
    for _ in range(reads):
        user_id = rng.randint(1, members)
        found += reader.get(1 + user_id % 3, user_id) is not None
    seconds = time.perf_counter() - started
    reader.close()
    return {"reads": reads, "found": found, "reads_per_second": round(reads / seconds)}


STEPS = {"generate": lambda a: generate(a.warehouse, a.members), "rebuild": lambda a: rebuild(a.warehouse, a.changed),
         "publish": lambda a: publish(a.warehouse, a.cards), "collect": lambda a: collect(a.cards),
         "read": lambda a: read(a.cards, a.members)}


def step(name: str, root: Path, args: argparse.Namespace) -> dict:
    """Run one step in its own process; its figures plus what the step itself printed."""
    measured = run_measured(["-m", "benchmarks.publishing", "--step", name, "--members", str(args.members),
                             "--changed", str(args.changed), "--root", str(root)])
    return {"step": name, "wall_seconds": measured["seconds"], "peak_rss_mb": measured["peak_rss_mb"],
            **json.loads(measured["stdout"].strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.05, help="share of members changed by the rebuild")
    parser.add_argument("--scratch", type=Path, default=None, help="where to write data (default: a temp dir)")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:  # inside a measured child process
        args.warehouse, args.cards = args.root / "warehouse.duckdb", args.root / "cards"
        print(json.dumps(STEPS[args.step](args)), flush=True)
        return

    root = scratch_root("synergy-bench-publishing-", args.scratch)
    report = {"machine": machine(), "members": args.members, "changed_share": args.changed, "steps": []}
    print(f"machine: {report['machine']}", flush=True)
    try:
        for name in ("generate", "publish", "rebuild", "publish", "collect", "read"):
            row = step(name, root, args)
            report["steps"].append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"saved {write_result('publishing', report)}")


if __name__ == "__main__":
    sys.exit(main())
