"""A Spark standalone cluster on loopback, started from PySpark's own distribution.

python -m engine.spark_cluster --workers 2 [--cores 1] [--memory 1g] [--log-dir DIR]
prints the master URL (for SYNERGY_SPARK_MASTER) and keeps the cluster up until interrupted.
Tests and benchmarks use `start_cluster` (a context manager that always stops what it started).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyspark

SPARK_HOME = Path(pyspark.__file__).parent
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
HOST = "127.0.0.1"
READY_WITHIN_SECONDS = 180  # a bound on waiting, not an expectation: a slow shared machine may need much of it


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    master_url: str
    web_url: str
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def alive_workers(self) -> int:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=10) as response:
            state = json.load(response)
        return sum(w.get("state") == "ALIVE" for w in state.get("workers", []))

    def stop(self) -> None:
        """Workers first, then the master."""
        stop_processes(list(reversed(self.processes)))
        self.processes.clear()


def stop_processes(processes: list[subprocess.Popen]) -> None:
    """In this order, each gets SIGTERM and a grace period before SIGKILL."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def launch(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """One of PySpark's launch scripts (bin/spark-class, bin/spark-submit), logging to `log`."""
    with open(log, "ab") as out:
        # Its own process group: stopping it stops the JVM the script execs into, and nothing else.
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                start_new_session=True)


def _spark_class(main_class: str, args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return launch([str(SPARK_HOME / "bin" / "spark-class"), main_class, *args], log, env)


def tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _wait_until_ready(cluster: LocalCluster, workers: int) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while True:
        for process, name in zip(cluster.processes, ["master"] + [f"worker-{i}" for i in range(workers)]):
            if process.poll() is not None:
                raise RuntimeError(f"spark {name} exited ({process.returncode}):\n{tail(cluster.log_dir / f'{name}.log')}")
        try:
            if cluster.alive_workers() == workers:
                return
        except OSError:
            pass  # the master's web UI is not listening yet
        if time.monotonic() > deadline:
            raise RuntimeError(f"the spark master did not report {workers} workers ALIVE within {READY_WITHIN_SECONDS} s; "
                               f"logs in {cluster.log_dir}")
        time.sleep(0.5)


@contextmanager
def start_cluster(workers: int = 2, cores: int = 1, memory: str = "1g",
                  log_dir: Path | None = None) -> Iterator[LocalCluster]:
    """A master and `workers` workers on loopback, each worker offering `cores` cores and `memory`."""
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="spark-cluster-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": HOST, "SPARK_DAEMON_MEMORY": "256m",
           "SPARK_LOG_DIR": str(log_dir), "PYSPARK_PYTHON": sys.executable}
    port, web_port = free_port(), free_port()
    cluster = LocalCluster(master_url=f"spark://{HOST}:{port}", web_url=f"http://{HOST}:{web_port}", log_dir=log_dir)
    try:
        cluster.processes.append(_spark_class(
            MASTER_CLASS, ["--host", HOST, "--port", str(port), "--webui-port", str(web_port)], log_dir / "master.log", env))
        for i in range(workers):
            work_dir = log_dir / f"worker-{i}-work"
            cluster.processes.append(_spark_class(
                WORKER_CLASS, ["--host", HOST, "--cores", str(cores), "--memory", memory, "--webui-port",
                               str(free_port()), "--work-dir", str(work_dir), cluster.master_url],
                log_dir / f"worker-{i}.log", env))
        _wait_until_ready(cluster, workers)
        yield cluster
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cores", type=int, default=1, help="cores each worker offers")
    parser.add_argument("--memory", default="1g", help="memory each worker offers")
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args()
    with start_cluster(args.workers, args.cores, args.memory, args.log_dir) as cluster:
        serve_until_interrupted({"master": cluster.master_url, "web_ui": cluster.web_url, "logs": str(cluster.log_dir)})


def serve_until_interrupted(addresses: dict) -> None:
    """A command line's way to keep what it started: say where it is (one JSON line), then wait for Ctrl-C."""
    print(json.dumps(addresses), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
