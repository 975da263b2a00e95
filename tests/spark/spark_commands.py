"""Commands the Spark tests run in processes of their own, as an operator would: dbt on Spark and the warehouse
bridge. The Derby metastore admits one process at a time, so no Spark session outlives a step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from assets.dbt_project import DBT_PROJECT_DIR
from ingestion.paths import DATA_DIR_ENV

COMPARED_SCHEMAS = ["config", "staging", "intermediate", "marts"]
DBT = Path(sys.executable).with_name("dbt")
DBT_SPARK = Path(sys.executable).with_name("synergy-dbt-spark")
BRIDGE = [sys.executable, "-m", "tests.spark.warehouse_bridge"]


def spark_environment(data_dir: Path, master: str) -> dict[str, str]:
    """The contract's variables: Spark selected on `master`, its warehouse and metastore under this data directory."""
    env = dict(os.environ)
    env.update({"SYNERGY_ENGINE": "spark", DATA_DIR_ENV: str(data_dir), "SYNERGY_SPARK_MASTER": master,
                "SYNERGY_SPARK_WAREHOUSE": str(data_dir / "spark" / "warehouse"),
                "SYNERGY_SPARK_METASTORE": str(data_dir / "spark" / "metastore")})
    return env


def run(command: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)


def export_relations(env: dict[str, str], target: Path, schemas: list[str], log: Path) -> None:
    """Every table and view of the Spark databases `schemas` to target/<schema>/<name>/ (Parquet)."""
    assert run([*BRIDGE, "export", str(target), *schemas], env, log).returncode == 0, log.read_text()[-3000:]


def load_duckdb_tables(env: dict[str, str], warehouse: Path, staging: Path, schemas: list[str], log: Path) -> None:
    """The DuckDB warehouse's tables of `schemas` as Spark tables of the same databases and names."""
    assert run([*BRIDGE, "load", str(warehouse), str(staging), *schemas], env, log).returncode == 0, log.read_text()[-3000:]


def dbt_spark(args: list[str], env: dict[str, str], target: Path, log: Path) -> list[dict]:
    """One dbt invocation on Spark: the result of every node it ran (none if it failed before running any)."""
    run([str(DBT_SPARK), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(target), "--log-path", str(target / "logs")], env, log, cwd=DBT_PROJECT_DIR)
    results = target / "run_results.json"
    return json.loads(results.read_text())["results"] if results.exists() else []


def failed(results: list[dict]) -> list[str]:
    return [f"{r['unique_id']}: {r['status']} {(r.get('message') or '')[:300]}" for r in results
            if r["status"] not in ("success", "pass")]


def dbt_show(dbt: Path, query: str, env: dict[str, str], target: Path, log: Path) -> list[dict]:
    """The rows of `query` (rendered with the project's macros) as `dbt show` printed them on the engine `env` selects
    (its JSON log's preview); `dbt` is DBT or DBT_SPARK."""
    command = [str(dbt), "show", "--inline", query, "--limit", "-1", "--output", "json", "--log-format", "json",
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)]
    result = run(command, env, log, cwd=DBT_PROJECT_DIR)
    assert result.returncode == 0, log.read_text()[-3000:]
    shown = [json.loads(line)["data"] for line in log.read_text().splitlines() if '"ShowNode"' in line]
    log.write_text("")
    assert len(shown) == 1
    return json.loads(shown[0]["preview"])
