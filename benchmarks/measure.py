"""Run one measured step in a fresh process and report wall time and peak memory.

Each figure comes from its own child process, so peak RSS belongs to that step alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ingestion.paths import PROJECT_ROOT


def run_measured(args: list[str], env: dict[str, str] | None = None, timeline: bool = False,
                 also: list[int] = (), python: Path | str = sys.executable) -> dict:
    """Run `python <args>` (this interpreter unless told another); sample the child's RSS every 50 ms; return seconds, peak MB and stdout.

    With `timeline`, also the samples themselves (`rss_timeline`: epoch seconds and MB of the whole
    tree) and the processes at the peak (`at_peak`), so a caller can say which step the peak was in.
    `also`: processes outside the child's tree whose trees count too (a Spark cluster's daemons and executors)."""
    # Output goes to files, not pipes: a child that prints more than a pipe buffer while
    # nobody reads would block forever.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen([str(python), *args], cwd=PROJECT_ROOT, env={**os.environ, **(env or {})},
                                stdout=out, stderr=err, text=True)
        load_before = os.getloadavg()[0]
        watched = _watch(proc, also)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr[-4000:]}")
    loads = watched.loads
    result = {"seconds": round(seconds, 2), "peak_rss_mb": round(watched.peak / 2**20, 1), "stdout": stdout,
              "machine_load": {"load_1m_before": round(load_before, 2), "load_1m_max": round(max(loads, default=0), 2),
                               "load_1m_mean": round(sum(loads) / len(loads), 2) if loads else None}}
    if timeline:
        result["rss_timeline"] = watched.timeline
        result["at_peak"] = watched.at_peak
    return result


@dataclass
class _Watched:
    peak: int = 0
    loads: list[float] = field(default_factory=list)
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (epoch seconds, MB of the tree)
    at_peak: list[dict] = field(default_factory=list)  # each process of the tree at the peak: pid, command, MB


def _watch(proc: subprocess.Popen, also: list[int] = ()) -> _Watched:
    """RSS of the process and its children (and of the `also` trees), sampled every 50 ms until it exits,
    and the machine's 1-minute load average, sampled every second (the harness's own children included)."""
    handles = [psutil.Process(pid) for pid in (proc.pid, *also)]
    watched, samples = _Watched(), 0
    while proc.poll() is None:
        sizes = [size for handle in handles for size in _sizes(handle)]
        if sizes:
            rss = sum(size for _, size in sizes)
            watched.timeline.append((round(time.time(), 2), round(rss / 2**20, 1)))
            if rss > watched.peak:
                watched.peak = rss
                watched.at_peak = [{"pid": p.pid, "command": _command(p), "rss_mb": round(size / 2**20, 1)}
                                   for p, size in sizes]
        if samples % 20 == 0:
            watched.loads.append(os.getloadavg()[0])
        samples += 1
        time.sleep(0.05)
    return watched


def _sizes(handle: psutil.Process) -> list[tuple[psutil.Process, int]]:
    """Each live process of the tree with its RSS; one that exits while sampled is left out."""
    try:
        tree = [handle, *handle.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    sizes = []
    for process in tree:
        try:
            sizes.append((process, process.memory_info().rss))
        except psutil.NoSuchProcess:
            pass
    return sizes


def _command(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())[:160]
    except psutil.Error:
        return "?"


def scratch_root(prefix: str, parent: Path | None = None) -> Path:
    """A new directory for one measurement's data, in `parent` (`--scratch`, created if missing) or the system's
    temporary directory."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def machine() -> dict:
    import platform

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "platform": platform.platform()}


RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"


def write_result(name: str, payload: dict, results_dir: Path = RESULTS_DIR, path: Path | None = None) -> Path:
    """benchmarks/results/<name>-<timestamp>.json, or `path` again (a report saved as it grows)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = path or results_dir / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path
