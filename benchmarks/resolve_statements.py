"""python -m benchmarks.resolve_statements WAREHOUSE [--full] [--top 25]

One identity resolution on a warehouse (it writes: give it a copy), with the time of every statement it runs,
slowest first: where the identity step's time goes, on a real warehouse, without a pipeline run around it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from identity.resolve import resolve
from ingestion.warehouse import connect


class TimedConnection:
    """A DuckDB connection that records how long each execute() and sql() call took."""

    def __init__(self, con):
        self._con = con
        self.timings: list[tuple[float, str]] = []

    def _timed(self, call, sql, *args, **kwargs):
        started = time.perf_counter()
        result = call(sql, *args, **kwargs)
        self.timings.append((time.perf_counter() - started, " ".join(str(sql).split())))
        return result

    def execute(self, sql, *args, **kwargs):
        return self._timed(self._con.execute, sql, *args, **kwargs)

    def sql(self, sql, *args, **kwargs):
        return self._timed(self._con.sql, sql, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._con, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--full", action="store_true", help="stitch everything instead of what changed")
    parser.add_argument("--top", type=int, default=25, help="statements to list")
    args = parser.parse_args()
    con = TimedConnection(connect(args.warehouse))
    started = time.perf_counter()
    summary = resolve(con, incremental=not args.full)
    total = time.perf_counter() - started
    print(summary)
    print(f"{total:.1f} s in all, {sum(t for t, _ in con.timings):.1f} s in {len(con.timings)} statements")
    for seconds, sql in sorted(con.timings, reverse=True)[:args.top]:
        print(f"{seconds:8.2f}  {sql[:150]}")


if __name__ == "__main__":
    main()
