"""python -m ingestion [--source NAME ...]: load every new landing file, one line per file.

The same loader the Dagster assets use, without Dagster: for operations, benchmarks and
the crash tests (which SIGKILL this process mid-load).
"""

from __future__ import annotations

import argparse
import json
import sys

from ingestion.loader import BATCH_BYTES, Loader
from ingestion.paths import DataPaths
from ingestion.sources import ALL_SOURCES, SOURCES_BY_NAME
from ingestion.warehouse import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", action="append", choices=sorted(SOURCES_BY_NAME), help="default: all sources")
    parser.add_argument("--batch-bytes", type=int, default=BATCH_BYTES,
                        help="most text loaded in one transaction (bounds memory; default %(default)s)")
    args = parser.parse_args(argv)
    paths = DataPaths.from_env().ensure()
    sources = [SOURCES_BY_NAME[s] for s in args.source] if args.source else list(ALL_SOURCES)
    con = connect(paths.warehouse)
    failed = 0
    try:
        loader = Loader(con, paths.landing, batch_bytes=args.batch_bytes)
        for source in sources:
            results = loader.load_source(source, on_file=lambda r: print(json.dumps(r.as_dict()), flush=True))
            failed += sum(r.status == "failed" for r in results)
    finally:
        con.close()
    if failed:
        print(f"{failed} file(s) failed to load; they are retried on the next run", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
