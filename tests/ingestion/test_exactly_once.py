"""Reruns, touched files, re-sent files and a SIGKILL mid-load never lose or double a row."""

from __future__ import annotations

import pytest

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ingestion.paths import DATA_DIR_ENV, PROJECT_ROOT
from ingestion.reconcile import reconcile
from ingestion.sources import ACTION_LOGS, ALL_SOURCES, CUSTOMERIO_WEBHOOKS
from ingestion.warehouse import connect
from serving.webhooks import landing_line
from tests.ingestion.helpers import event, load, query, write_lines


def counts(warehouse: Path) -> tuple[int, int, int]:
    return query(warehouse, "SELECT (SELECT count(*) FROM raw.app_action_logs), (SELECT count(*) FROM audit.quarantine), "
                            "(SELECT count(*) FROM audit.ingested_files)")[0]


def test_rerun_loads_nothing_new(data_dir):
    write_lines(data_dir.landing / "app/action_logs/dt=2026-11-19/a.ndjson", [event("e1"), "{bad", event("e2")])
    load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    before = counts(data_dir.warehouse)
    assert load(data_dir.warehouse, data_dir.landing, ACTION_LOGS) == []
    assert counts(data_dir.warehouse) == before == (2, 1, 1)


def test_touched_or_rewritten_identical_file_is_not_reloaded(data_dir):
    path = write_lines(data_dir.landing / "app/action_logs/dt=2026-11-19/a.ndjson", [event("e1")])
    load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    [again] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert again.status == "already_loaded"
    assert counts(data_dir.warehouse) == (1, 0, 1)
    assert load(data_dir.warehouse, data_dir.landing, ACTION_LOGS) == []  # and the ledger now knows the new mtime


def test_file_resent_with_more_rows_loads_only_the_new_rows(data_dir):
    day = data_dir.landing / "app/action_logs/dt=2026-11-19"
    write_lines(day / "part-1.ndjson", [event("e1"), event("e2")])
    load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    write_lines(day / "part-1-retry.ndjson", [event("e1"), event("e2"), event("e3")])
    [retry] = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    assert (retry.rows_loaded, retry.rows_duplicate) == (1, 2)


def test_reconciliation_detects_a_lost_row(data_dir):
    write_lines(data_dir.landing / "app/action_logs/dt=2026-11-19/a.ndjson", [event("e1"), event("e2")])
    load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    con = connect(data_dir.warehouse)
    try:
        assert reconcile(con, ACTION_LOGS) == []
        con.execute("DELETE FROM raw.app_action_logs WHERE event_id = 'e2'")
        [problem] = reconcile(con, ACTION_LOGS)
        assert "2 loaded, table holds 1" in problem.problem
    finally:
        con.close()


def _ingest_process(data_root: Path) -> subprocess.Popen:
    env = {**os.environ, DATA_DIR_ENV: str(data_root)}
    # Small batches: the action logs load in several transactions, so a kill lands in the middle of them.
    return subprocess.Popen([sys.executable, "-m", "ingestion", "--batch-bytes", "60000"], cwd=PROJECT_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_mid_load_then_rerun_gives_exact_counts(sample_data_dir):
    """Kill the real loader process several times at different points, in the middle of the batches of action
    logs among them; the final state is exact."""
    expected = json.loads((sample_data_dir.ground_truth / "expected.json").read_text())
    kills = 0
    for files_before_kill in (1, 4, 9):
        proc = _ingest_process(sample_data_dir.root)
        seen = 0
        for line in proc.stdout:
            seen += 1
            if seen >= files_before_kill:
                proc.send_signal(signal.SIGKILL)  # now inside the next file's transaction
                break
        proc.wait(timeout=120)
        kills += proc.returncode == -signal.SIGKILL
    assert kills >= 2, "the loader finished before it could be killed: the test data is too small"

    final = _ingest_process(sample_data_dir.root)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err
    wh = sample_data_dir.warehouse
    assert query(wh, "SELECT count(*) FROM raw.app_action_logs")[0][0] == expected["action_log_events_expected_loaded"]
    assert query(wh, "SELECT count(*) FROM audit.quarantine WHERE source = 'app_action_logs'")[0][0] == \
        sum(expected["action_log_malformed"].values())
    read, dup = query(wh, "SELECT sum(rows_read), sum(rows_duplicate) FROM audit.ingested_files WHERE source = 'app_action_logs'")[0]
    assert read == expected["action_log_rows_written"]
    assert dup == expected["action_log_resent_duplicates"]
    assert query(wh, "SELECT count(*) - count(DISTINCT path) FROM audit.ingested_files")[0][0] == 0
    assert query(wh, "SELECT count(*) FROM raw.app_users")[0][0] == expected["members"]
    con = connect(wh)
    try:
        assert {s.name: reconcile(con, s) for s in ALL_SOURCES} == {s.name: [] for s in ALL_SOURCES}
    finally:
        con.close()


def test_a_prediction_confirmed_unchanged_later_is_a_new_receipt(data_dir):
    body = json.dumps({"user_id": 7, "brand_id": 1, "predictions": {"churn_probability": 0.25}})
    first, later = datetime(2026, 11, 10, 8, tzinfo=UTC), datetime(2026, 11, 18, 8, tzinfo=UTC)
    folder = data_dir.landing / CUSTOMERIO_WEBHOOKS.folder
    folder.mkdir(parents=True)
    (folder / "a.ndjson").write_bytes(landing_line("prediction", body, first))
    (folder / "b.ndjson").write_bytes(landing_line("prediction", body, later) + landing_line("prediction", body, first))
    load(data_dir.warehouse, data_dir.landing, CUSTOMERIO_WEBHOOKS)
    receipts = query(data_dir.warehouse, "SELECT received_at FROM raw.customerio_webhooks ORDER BY received_at")
    assert [r[0] for r in receipts] == [first, later]  # the same receipt twice is still one row
