"""python -m ingestion [--source NAME ...]: load every new landing file, one line per file.

The same loader the Dagster assets use, without Dagster: for operations, benchmarks and
the crash tests (which SIGKILL this process mid-load).
"""

from __future__ import annotations

import argparse
import json
import sys

from ingestion.loader import Loader
from ingestion.paths import DataPaths
from ingestion.sources import ALL_SOURCES, SOURCES_BY_NAME
from ingestion.warehouse import connect


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", action="append", choices=sorted(SOURCES_BY_NAME), help="default: all sources")
    args = parser.parse_args(argv)
    paths = DataPaths.from_env().ensure()
    sources = [SOURCES_BY_NAME[s] for s in args.source] if args.source else list(ALL_SOURCES)
    con = connect(paths.warehouse)
    try:
        loader = Loader(con, paths.landing)
        for source in sources:
            loader.load_source(source, on_file=lambda r: print(json.dumps(r.as_dict()), flush=True))
    finally:
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
