"""The interpreter splink's Spark backend runs in: a virtualenv of its own, `.venv-splink/`, made on first use.

Why not the project's: dagster-dbt requires `sqlglot[rs]`, which installs `sqlglotc`, sqlglot's modules compiled
with mypyc; splink's Spark dialect subclasses sqlglot's generator, and Python refuses an interpreted class
inheriting from a compiled one. With plain sqlglot, as here, splink's Spark clustering runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingestion.paths import PROJECT_ROOT

VENV = PROJECT_ROOT / ".venv-splink"
# pyspark as the project pins it (pyproject.toml's `spark` extra): the client must match the cluster.
REQUIREMENTS = ["splink==5.0.0", "pyspark==4.3.0"]


def splink_python() -> Path:
    """The environment's interpreter, after creating it and installing REQUIREMENTS if it lacks them."""
    python = VENV / "bin" / "python"
    wanted = VENV / "requirements.txt"
    if not python.exists() or not wanted.exists() or wanted.read_text() != "\n".join(REQUIREMENTS):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
        wanted.write_text("\n".join(REQUIREMENTS))
    return python
