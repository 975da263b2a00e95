"""The engine switch and the Spark settings read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.settings import SparkSettings, engine


def test_duckdb_is_the_default_and_spark_is_chosen_by_name():
    assert engine({}) == "duckdb"
    assert engine({"SYNERGY_ENGINE": "Spark"}) == "spark"


def test_an_unknown_engine_is_an_error_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="duckdb, spark"):
        engine({"SYNERGY_ENGINE": "postgres"})


def test_spark_directories_default_to_the_data_directory(tmp_path):
    settings = SparkSettings.from_env({"SYNERGY_DATA_DIR": str(tmp_path)})
    assert (settings.master, settings.warehouse, settings.metastore) == (
        "local[2]", tmp_path / "spark" / "warehouse", tmp_path / "spark" / "metastore")
    chosen = SparkSettings.from_env({"SYNERGY_DATA_DIR": str(tmp_path), "SYNERGY_SPARK_MASTER": "spark://10.0.0.5:7077",
                                     "SYNERGY_SPARK_WAREHOUSE": str(tmp_path / "wh"), "SYNERGY_SPARK_METASTORE": "ms"})
    assert (chosen.master, chosen.warehouse, chosen.metastore) == ("spark://10.0.0.5:7077", tmp_path / "wh",
                                                                   Path("ms").resolve())


def test_a_connect_server_is_used_only_when_named(tmp_path):
    assert SparkSettings.from_env({"SYNERGY_DATA_DIR": str(tmp_path)}).remote is None
    assert SparkSettings.from_env({"SYNERGY_DATA_DIR": str(tmp_path), "SYNERGY_SPARK_REMOTE": ""}).remote is None
    chosen = SparkSettings.from_env({"SYNERGY_DATA_DIR": str(tmp_path), "SYNERGY_SPARK_REMOTE": "sc://10.0.0.5:15002"})
    assert chosen.remote == "sc://10.0.0.5:15002"
