"""The README's `DAGSTER_HOME=$PWD/dagster_home .venv/bin/dagster dev` loads the code location without an
activated virtualenv: under `dagster dev` the dbt manifest is parsed again on load, and that must not need a
`dbt` on PATH."""

from __future__ import annotations

import pytest

import os
import subprocess
import sys

from ingestion.paths import PROJECT_ROOT


@pytest.mark.slow
def test_the_code_location_loads_under_dagster_dev_without_the_virtualenv_on_path(tmp_path):
    manifest = PROJECT_ROOT / "dbt_project" / "target" / "manifest.json"
    before = manifest.stat().st_mtime_ns if manifest.exists() else 0
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path),
                   "DAGSTER_IS_DEV_CLI": "1"}  # what `dagster dev` sets for the code location it starts
    result = subprocess.run([sys.executable, "-c", "from orchestration.definitions import defs; "
                             "print(len(list(defs.resolve_all_asset_specs())))"],
                            cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) > 80
    assert manifest.stat().st_mtime_ns > before  # the manifest was parsed anew, as dagster dev promises
    assert not any(os.access(os.path.join(d, "dbt"), os.X_OK) for d in environment["PATH"].split(":"))
