"""python -m tests.spark.metastore_handover_child DIR: a pipeline process's side of handing the Derby metastore over.

Builds the process's session (local, warehouse and metastore under DIR), creates a table, releases the metastore
(engine.spark.release_metastore) and lets another process read the table from the same metastore, then builds a
session again in this process and reads it too. Prints `other process: <rows>` and `again: <rows>`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.settings import SparkSettings
from engine.spark import build_session, release_metastore

READER = """
import sys
from pathlib import Path
from engine.settings import SparkSettings
from engine.spark import build_session
root = Path(sys.argv[1])
spark = build_session(SparkSettings("local[1]", root / "warehouse", root / "metastore"), conf={"spark.ui.enabled": "false"})
print(sorted(tuple(r) for r in spark.sql("select * from handover.t").collect()))
"""


def main() -> None:
    root = Path(sys.argv[1])
    settings = SparkSettings("local[1]", root / "warehouse", root / "metastore")
    spark = build_session(settings, conf={"spark.ui.enabled": "false"})
    spark.sql("create database if not exists handover")
    spark.sql("create table handover.t using parquet as select 1 as a union all select 2")
    release_metastore()
    other = subprocess.run([sys.executable, "-c", READER, str(root)], capture_output=True, text=True)
    print(f"other process: {other.stdout.strip() or other.stderr.strip()[-2000:]}", flush=True)
    spark = build_session(settings, conf={"spark.ui.enabled": "false"})
    print(f"again: {sorted(tuple(r) for r in spark.sql('select * from handover.t').collect())}", flush=True)


if __name__ == "__main__":
    main()
