"""A Spark session for the tests, from the shared contract's variables (SYNERGY_SPARK_MASTER, _WAREHOUSE,
_METASTORE), until the engine package's builder is merged: small (local[2], 1 GB driver), UTC, Hive catalog on
an embedded Derby metastore, as the pipeline runs it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from ingestion.paths import DataPaths


def build_test_session(app_name: str = "synergy-tests") -> SparkSession:
    data = DataPaths.from_env().root
    warehouse = Path(os.environ.get("SYNERGY_SPARK_WAREHOUSE") or data / "spark" / "warehouse")
    metastore = Path(os.environ.get("SYNERGY_SPARK_METASTORE") or data / "spark" / "metastore")
    warehouse.mkdir(parents=True, exist_ok=True)
    metastore.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = {
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={metastore} -Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.session.timeZone": "UTC",
        "spark.driver.memory": "1g",
        "spark.sql.shuffle.partitions": "4",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
    }
    builder = SparkSession.builder.appName(app_name).master(os.environ.get("SYNERGY_SPARK_MASTER", "local[2]"))
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.enableHiveSupport().getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
