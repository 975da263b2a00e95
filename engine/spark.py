"""The one place that builds a SparkSession, from engine.settings.

Hive support with the embedded Derby metastore is what dbt-spark's `session` method uses, so the
models and the Python stages of one process see the same catalog (getOrCreate returns this session
to dbt-spark). Derby admits one process at a time: one pipeline process owns the metastore.

With SYNERGY_SPARK_REMOTE the session is a Spark Connect client of that server instead, which owns the
cluster and the metastore, so any number of the pipeline's processes share one catalog.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from urllib.parse import urlparse

from pyspark import SparkContext
from pyspark.sql import SparkSession

from engine.settings import SparkSettings
from erasure.spark_redact import finish_interrupted

APP_NAME = "synergy"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _on_this_machine(master: str) -> bool:
    return master.startswith("local") or urlparse(master).hostname in LOOPBACK


# Runtime SQL settings, which a Spark Connect client sets in its own session too.
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # Adaptive execution may coalesce a cached query's shuffle partitions as it does any other's. Without this, a
    # small cached set (erasure's erased members) keeps spark.sql.shuffle.partitions (200) partitions, and every
    # query reading it runs 200 tasks: 2 to 4 s each on the test cluster, for a few rows.
    "spark.sql.optimizer.canChangeCachedPlanOutputPartitioning": "true",
}


def session_conf(settings: SparkSettings) -> dict[str, str]:
    settings.metastore.mkdir(parents=True, exist_ok=True)
    settings.warehouse.mkdir(parents=True, exist_ok=True)
    # UTC everywhere: Spark SQL's session zone (SQL_CONF) and the JVMs' own, so timestamps convert the same in Python.
    java_options = f"-Dderby.system.home={settings.metastore} -Duser.timezone=UTC"
    conf = SQL_CONF | {
        "spark.sql.warehouse.dir": str(settings.warehouse),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={settings.metastore / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": java_options,
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # Instants as Parquet's UTC-adjusted timestamps (not INT96), so DuckDB's views over Spark's files read them as
        # timestamptz, the type the DuckDB warehouse has.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.showConsoleProgress": "false",  # progress bars would garble the pipeline's own progress lines
    }
    if _on_this_machine(settings.master):
        # Executors on this machine call back to the driver over loopback and run this interpreter.
        conf |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                 "spark.pyspark.python": sys.executable}
    return conf


def connect_session(url: str, conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Spark Connect session on `url` with SQL_CONF and `conf` applied where a client may set it (runtime SQL
    settings; the server's static ones are silently kept, as PySpark's Connect builder does)."""
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    # PySpark's own switches: every builder in this process, dbt-spark's `getOrCreate()` included, then returns
    # this Connect session instead of starting a Spark driver of its own, and `functions` build Connect columns.
    os.environ["SPARK_REMOTE"] = url
    os.environ["SPARK_CONNECT_MODE_ENABLED"] = "1"
    builder = ConnectSession.builder.remote(url)
    for key, value in (SQL_CONF | dict(conf or {})).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def build_session(settings: SparkSettings | None = None, *, app_name: str = APP_NAME,
                  conf: Mapping[str, str] | None = None) -> SparkSession:
    """A Hive-enabled session on the configured master; `conf` adds or overrides settings (sizes, partitions).
    With a Connect server configured, a client session of that server."""
    settings = settings or SparkSettings.from_env()
    # An erasure redaction that a crash interrupted after its commit point is finished before anyone reads
    # the warehouse again (erasure/spark_redact.py); its tables' file listings are refreshed in this session.
    interrupted = finish_interrupted(settings.warehouse)
    session = _session(settings, app_name, conf)
    for table in interrupted:
        session.catalog.refreshTable(table)
    return session


def _session(settings: SparkSettings, app_name: str, conf: Mapping[str, str] | None) -> SparkSession:
    if settings.remote:
        return connect_session(settings.remote, conf)
    if _on_this_machine(settings.master):
        # PySpark names the executors' Python from this variable, not from spark.pyspark.python.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).master(settings.master).enableHiveSupport()
    for key, value in (session_conf(settings) | dict(conf or {})).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def release_metastore() -> None:
    """End this process's Spark session and the JVM behind it, if one runs. The embedded Derby metastore stays
    locked while the JVM that opened it lives, so a step that runs dbt on Spark (another process) calls this first;
    the Python steps share one session until then, and the next build_session launches a new JVM."""
    if SparkContext._gateway is None:
        return
    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    gateway = SparkContext._gateway
    gateway.shutdown()
    process = getattr(gateway, "proc", None)  # PySpark's JVM exits when its stdin closes
    if process is not None:
        process.stdin.close()
        process.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None
