"""Resources: where the data directory is and how to open the warehouse."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from engine.settings import SparkSettings, engine
from engine.spark_views import create_spark_views
from ingestion.paths import DATA_DIR_ENV, DataPaths
from ingestion.warehouse import connect, duckdb_memory


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

    @property
    def spark_warehouse(self) -> Path:
        """The Spark SQL warehouse directory; its default place follows this resource's data directory."""
        return SparkSettings.from_env({**os.environ, DATA_DIR_ENV: str(self.paths.root)}).warehouse

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The DuckDB warehouse; with SYNERGY_ENGINE=spark, it also reads every Spark table and the Spark raw layer
        through views (engine/spark_views.py), so the stages after the models read them the same way on both engines.
        On Spark, `read_only` gives an in-memory database with only those views: the warehouse file stays closed."""
        paths = self.paths
        on_spark = engine() == "spark"
        con = duckdb_memory() if on_spark and read_only else connect(paths.warehouse, read_only=read_only)
        try:
            if on_spark:
                create_spark_views(con, self.spark_warehouse)
            yield con
        finally:
            con.close()


def default_warehouse() -> WarehouseResource:
    """Resolves $SYNERGY_DATA_DIR when used, not when the code location loads."""
    return WarehouseResource()
