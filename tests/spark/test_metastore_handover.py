"""A pipeline process hands the embedded Derby metastore to dbt's process between steps: after
release_metastore(), another process opens the same metastore, and the next step of this process opens it again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ingestion.paths import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.extended]


def test_after_release_another_process_and_then_this_one_open_the_metastore(tmp_path):
    # In a child process: releasing ends the process's JVM, which must not be this test session's.
    done = subprocess.run([sys.executable, "-m", "tests.spark.metastore_handover_child", str(tmp_path)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "other process: [(1,), (2,)]" in done.stdout, done.stdout
    assert "again: [(1,), (2,)]" in done.stdout, done.stdout
