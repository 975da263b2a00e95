"""Resources: where the data directory is and how to open the warehouse."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from engine.settings import SparkSettings, engine
from engine.spark_views import create_views
from ingestion.paths import DATA_DIR_ENV, DataPaths
from ingestion.warehouse import connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file inside the data directory.

    Only steps in the "warehouse" concurrency pool open it, one at a time: DuckDB allows a
    single writer process and even a read-only reader blocks it.
    """

    data_dir: str = ""  # empty: $SYNERGY_DATA_DIR or ./data

    @property
    def paths(self) -> DataPaths:
        if self.data_dir:
            return DataPaths(Path(self.data_dir).resolve()).ensure()
        return DataPaths.from_env().ensure()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The DuckDB warehouse; with SYNERGY_ENGINE=spark, it also reads every Spark table through a view
        (engine/spark_views.py), so the stages after the models read them the same way on both engines."""
        paths = self.paths
        con = connect(paths.warehouse)
        if engine() == "spark":  # the Spark warehouse's default place follows this resource's data directory
            create_views(con, SparkSettings.from_env({**os.environ, DATA_DIR_ENV: str(paths.root)}).warehouse)
        try:
            yield con
        finally:
            con.close()


def default_warehouse() -> WarehouseResource:
    """Resolves $SYNERGY_DATA_DIR when used, not when the code location loads."""
    return WarehouseResource()
