"""The DuckDB build of the small generated sample that Spark's results are compared with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ingestion.paths import DATA_DIR_ENV, DataPaths
from tests.orchestration.build import activate, build_all


def build_sample_on_duckdb(small_sample: Path, root: Path, *, activated: bool = False) -> DataPaths:
    """The sample's landing zone built through the real graph in `root` (and, with `activated`, the activation job:
    the Customer.io sync and the card snapshots)."""
    shutil.copytree(small_sample / "landing", root / "landing")
    paths = DataPaths(root).ensure()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_DIR_ENV, str(root))
        mp.setenv("DAGSTER_HOME", str(root.parent))
        assert build_all(paths).success
        assert not activated or activate().success
    return paths
