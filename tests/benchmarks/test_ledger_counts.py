"""The benchmark reports what ingestion's ledger says a run loaded, not what the generator meant to write."""

from __future__ import annotations

import gzip
from dataclasses import replace

from benchmarks.pipeline import action_log_ledger, ledger_difference
from ingestion.paths import DataPaths
from ingestion.sources import ACTION_LOGS
from ingestion.warehouse import connect, ensure_audit_tables
from sample_data.generator import generate
from tests.conftest import SMALL
from tests.ingestion.helpers import NOW, load, query


def test_a_runs_ledger_counts_are_the_rows_its_files_brought(tmp_path):
    paths = DataPaths(tmp_path / "data")
    generate(paths.root, replace(SMALL, members=80, days=3))
    with connect(paths.warehouse) as con:
        ensure_audit_tables(con)
    assert action_log_ledger(paths.root, {}) == {}

    load(paths.warehouse, paths.landing, ACTION_LOGS, now=NOW.replace(month=12))
    before = action_log_ledger(paths.root, {})
    [(raw_rows,)] = query(paths.warehouse, f"SELECT count(*) FROM {ACTION_LOGS.table}")
    assert before["loaded"]["rows_loaded"] == raw_rows > 0

    # The next day: one new file that loads, and one that would expand past ingestion's cap and is refused.
    day = paths.landing / "app/action_logs/dt=2030-01-01"
    day.mkdir()
    first = sorted((paths.landing / "app/action_logs").rglob("events-*.ndjson.gz"))[0]
    lines = gzip.decompress(first.read_bytes()).decode().splitlines()
    fresh = [line.replace('"event_id":"', '"event_id":"next-', 1) for line in lines]
    (day / "events-1000.ndjson.gz").write_bytes(gzip.compress(("\n".join(fresh) + "\n").encode()))
    (day / "events-1000-1.ndjson.gz").write_bytes(gzip.compress(b" " * (65 * 2**20)))
    load(paths.warehouse, paths.landing, ACTION_LOGS, now=NOW.replace(month=12))
    added = ledger_difference(action_log_ledger(paths.root, {}), before)

    [(new_rows,)] = query(paths.warehouse, f"SELECT count(*) FROM {ACTION_LOGS.table}")
    assert added["loaded"] == {"files": 1, "rows_read": len(lines), "rows_loaded": new_rows - raw_rows}
    assert added["rejected"]["files"] == 1 and added["rejected"]["rows_loaded"] == 0
