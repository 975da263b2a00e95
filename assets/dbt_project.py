"""The dbt project, how to prepare its manifest (importable before the manifest exists), and how the run
folders of its invocations are kept small."""

import os
import shutil
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import using_dagster_dev
from dbt.cli.main import dbtRunner

from ingestion.paths import PROJECT_ROOT, DataPaths
from ingestion.warehouse import DBT_MEMORY_LIMIT_ENV, MEMORY_LIMIT_ENV, TEMP_DIR_ENV, THREADS_ENV, dbt_memory_limit, duckdb_settings

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
WAREHOUSE_PATH_ENV = "SYNERGY_WAREHOUSE_PATH"
# dbt's own setting, which dagster-dbt also reads for its invocation folders: two processes building from one
# checkout at once (parallel test workers) each keep their manifest and invocations apart.
TARGET_PATH_ENV = "DBT_TARGET_PATH"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR,
                         target_path=os.environ.get(TARGET_PATH_ENV, "target"))
DBT_TARGET_DIR = DBT_PROJECT_DIR / dbt_project.target_path


def prepare_dbt_manifest(warehouse: Path | None = None) -> None:
    """`dbt parse`: writes target/manifest.json, which the Definitions read at import time. It parses with the
    environment the dbt steps will have (the warehouse's path and DuckDB settings, which profiles.yml renders):
    with another, every step finds the profile changed and parses the whole project again."""
    saved = dict(os.environ)
    os.environ.update(dbt_environment(warehouse or DataPaths.from_env().warehouse))
    try:
        result = dbtRunner().invoke(["parse", "--quiet", "--project-dir", os.fspath(DBT_PROJECT_DIR),
                                     "--profiles-dir", os.fspath(DBT_PROJECT_DIR)])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if not result.success:
        raise RuntimeError(f"dbt parse failed: {result.exception}")


# dbt writes a debug-level log file beside its artifacts: with dagster-dbt, into each invocation's folder, which
# tidy_invocation_target empties when the invocation ends (8 MB of JSON for a build of 5,000 members, read by
# nobody; Dagster keeps what dbt prints). Writing it cost a build about 3 s.
NO_FILE_LOG = {"DBT_LOG_LEVEL_FILE": "none"}


def dbt_environment(warehouse: Path) -> dict[str, str]:
    """What dbt reads from the environment: for profiles.yml, the warehouse file and the platform's DuckDB settings,
    with dbt's own memory limit; and no log file (NO_FILE_LOG)."""
    settings = duckdb_settings(warehouse)
    return {WAREHOUSE_PATH_ENV: os.fspath(warehouse), MEMORY_LIMIT_ENV: settings["memory_limit"],
            DBT_MEMORY_LIMIT_ENV: dbt_memory_limit(),
            THREADS_ENV: settings["threads"], TEMP_DIR_ENV: settings["temp_directory"], **NO_FILE_LOG}


# Under `dagster dev` the manifest is parsed anew on every load, as dbt_project.prepare_if_dev() would, but
# in this interpreter: prepare_if_dev() runs the `dbt` found on PATH, which is not there unless the
# virtualenv is activated.
if using_dagster_dev():
    prepare_dbt_manifest()


# What an invocation's folder keeps once it finished: dbt's timings, which benchmarks/pipeline.py reads.
KEPT_ARTIFACTS = ("run_results.json",)
KEPT_INVOCATIONS = 10
# dbt's parse cache. dagster-dbt starts every invocation with the target folder's copy; dbt parses the whole
# project again (about 15 s of CPU) when its profile renders differently from the one that wrote the copy.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def tidy_invocation_target(invocation: Path, kept_invocations: int = KEPT_INVOCATIONS) -> None:
    """dagster-dbt runs every invocation in its own target/<op>-<run>-<uuid>/ folder (compiled SQL, a
    manifest, logs: about 18 MB a build) and never removes it. Strip this one to KEPT_ARTIFACTS and
    delete the oldest folders of the same op beyond the newest `kept_invocations`. Its parse cache becomes the
    target folder's, so the next step of a run on another data directory than the one the manifest was prepared
    for (another warehouse path in the profile) parses only what changed."""
    keep_parse_cache(invocation)
    if invocation.is_dir():
        for entry in invocation.iterdir():
            if entry.name in KEPT_ARTIFACTS:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    op_name = invocation.name.rsplit("-", 2)[0]
    siblings = [p for p in invocation.parent.glob(f"{op_name}-*-*") if p.is_dir() and p.name.rsplit("-", 2)[0] == op_name]
    for old in sorted(siblings, key=lambda p: p.stat().st_mtime_ns, reverse=True)[kept_invocations:]:
        shutil.rmtree(old)


def keep_parse_cache(invocation: Path) -> None:
    """The invocation's parse cache replaces the target folder's in one rename, so a concurrent reader sees one or
    the other whole; dbt checks a cache before using it, so a cache of another profile only costs a full parse."""
    cache = invocation / PARTIAL_PARSE_FILE
    if cache.is_file():
        os.replace(cache, invocation.parent / PARTIAL_PARSE_FILE)  # the target folder
