"""One Spark session for the Spark tests of this process (a JVM per test would cost minutes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from tests.spark.session import build_test_session


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    root = tmp_path_factory.mktemp("spark")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SYNERGY_SPARK_WAREHOUSE", str(root / "warehouse"))
    monkeypatch.setenv("SYNERGY_SPARK_METASTORE", str(root / "metastore"))
    session = build_test_session()
    yield session
    session.stop()
    monkeypatch.undo()
