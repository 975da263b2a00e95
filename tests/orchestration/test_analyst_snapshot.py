"""An analyst session left open on the snapshot never makes a pipeline run fail."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.ingestion.helpers import event, write_lines
from tests.orchestration.build import build_all

ANALYST = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    query = "SELECT sum(rows_loaded) FROM audit.ingested_files WHERE source = 'app_action_logs'"
    print(con.execute(query).fetchone()[0], flush=True)
    sys.stdin.readline()                      # the session stays open while the pipeline runs
    print(con.execute(query).fetchone()[0], flush=True)
""")


def count(path) -> int:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT sum(rows_loaded) FROM audit.ingested_files WHERE source = 'app_action_logs'").fetchone()[0]
    finally:
        con.close()


def test_open_analyst_session_does_not_block_a_build(data_dir, dbt_manifest):
    write_lines(data_dir.landing / "app/action_logs/dt=2026-11-18/a.ndjson", [event("a1"), event("a2")])
    assert build_all(data_dir).success

    analyst = subprocess.Popen([sys.executable, "-c", ANALYST, str(data_dir.analytics)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline().strip() == "2"
        write_lines(data_dir.landing / "app/action_logs/dt=2026-11-19/b.ndjson", [event("b1"), event("b2"), event("b3")])
        assert build_all(data_dir).success  # while the analyst holds the snapshot open
        assert count(data_dir.analytics) == 5  # new sessions see the new snapshot
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert analyst.stdout.readline().strip() == "2"  # the open session keeps a consistent old copy
    finally:
        analyst.kill()
        analyst.wait()
    leftovers = [p.name for p in data_dir.root.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert not os.path.exists(str(data_dir.analytics) + ".wal")
