"""A Spark Connect server on loopback in front of a Spark master: one Spark driver that owns the metastore,
which every process of the pipeline reaches as a client (SYNERGY_SPARK_REMOTE).

python -m engine.spark_connect --master spark://127.0.0.1:7077 [--port 15002] [--log-dir DIR]
prints the URL to set as SYNERGY_SPARK_REMOTE and serves until interrupted. Its warehouse and metastore are
the SYNERGY_SPARK_* settings, with the same options a session of the pipeline's own would have
(engine/spark.py session_conf). Tests and benchmarks use `start_connect_server`, which always stops it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from engine.settings import SparkSettings
from engine.spark import session_conf
from engine.spark_cluster import HOST, SPARK_HOME, free_port, launch, serve_until_interrupted, stop_processes, tail

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
READY_WITHIN_SECONDS = 180  # a bound on waiting, not an expectation: a slow shared machine may need much of it


def server_conf(settings: SparkSettings, port: int) -> dict[str, str]:
    """The server's Spark settings: the pipeline's session settings, a Hive catalog, gRPC on loopback."""
    return session_conf(settings) | {
        "spark.sql.catalogImplementation": "hive",
        "spark.connect.grpc.binding.address": HOST,
        "spark.connect.grpc.binding.port": str(port),
    }


@dataclass(frozen=True)
class ConnectServer:
    url: str  # sc://127.0.0.1:PORT, for SYNERGY_SPARK_REMOTE
    process: subprocess.Popen


def _listening(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


@contextmanager
def start_connect_server(settings: SparkSettings | None = None, *, port: int | None = None,
                         log_dir: Path | None = None, conf: Mapping[str, str] | None = None) -> Iterator[ConnectServer]:
    """The server on `settings.master`, until the block ends.
    `conf` adds or overrides settings (the server's executors, shuffle partitions)."""
    settings = replace(settings or SparkSettings.from_env(), remote=None)  # the server is the one that is not a client
    port = port or free_port()
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="spark-connect-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [str(SPARK_HOME / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--master", settings.master]
    for key, value in (server_conf(settings, port) | dict(conf or {})).items():
        command += ["--conf", f"{key}={value}"]
    log = log_dir / "connect-server.log"
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": HOST, "PYSPARK_PYTHON": sys.executable}
    process = launch([*command, "spark-internal"], log, env)
    try:
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        while not _listening(port):
            if process.poll() is not None:
                raise RuntimeError(f"the Spark Connect server exited ({process.returncode}):\n{tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Spark Connect server did not listen within {READY_WITHIN_SECONDS} s; log: {log}")
            time.sleep(0.5)
        yield ConnectServer(url=f"sc://{HOST}:{port}", process=process)
    finally:
        stop_processes([process])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--master", help="the Spark master URL (default: SYNERGY_SPARK_MASTER, or local[2])")
    parser.add_argument("--port", type=int, default=15002, help="the gRPC port, on 127.0.0.1")
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    settings = SparkSettings.from_env()
    if args.master:
        settings = replace(settings, master=args.master)
    with start_connect_server(settings, port=args.port, log_dir=args.log_dir) as server:
        serve_until_interrupted({"remote": server.url, "master": settings.master, "warehouse": str(settings.warehouse),
                                 "metastore": str(settings.metastore)})


if __name__ == "__main__":
    main()
