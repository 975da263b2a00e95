"""Runs started from the command line that belong to the code location the UI shows.

A run made by `execute_in_process` carries no code-location origin: the UI lists it among all runs
but not under its job, not on the Overview timeline, and offers to re-execute it only against "a
different version". A run created here carries the origin of the `synergy` location of
workspace.yaml (the file `dagster dev` loads) and the job snapshot that location serves, then
executes in this process, synchronously, like `dagster job execute` would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster._core.code_pointer import CodePointer
from dagster._core.definitions.reconstruct import ReconstructableJob, ReconstructableRepository
from dagster._core.execution.api import execute_run_iterator
from dagster._core.remote_origin import ManagedGrpcPythonEnvCodeLocationOrigin, RemoteRepositoryOrigin
from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module
from dagster._core.workspace.load_target import WorkspaceFileTarget

from ingestion.paths import PROJECT_ROOT

WORKSPACE = PROJECT_ROOT / "workspace.yaml"


def code_location() -> ManagedGrpcPythonEnvCodeLocationOrigin:
    """The one location workspace.yaml declares, as `dagster dev` reads it."""
    (origin,) = WorkspaceFileTarget([str(WORKSPACE)]).create_origins()
    assert isinstance(origin, ManagedGrpcPythonEnvCodeLocationOrigin), origin
    return origin


def reconstructable_repository(origin: ManagedGrpcPythonEnvCodeLocationOrigin) -> ReconstructableRepository:
    """The repository the location's code server loads: same module, same Definitions attribute."""
    target = origin.loadable_target_origin
    (loadable,) = loadable_targets_from_python_module(target.module_name, target.working_directory)
    pointer = CodePointer.from_module(target.module_name, loadable.attribute, target.working_directory)
    return ReconstructableRepository(pointer, executable_path=target.executable_path)


def create_location_run(instance: dg.DagsterInstance, job_name: str, run_config: Mapping[str, Any],
                        tags: Mapping[str, str]) -> tuple[ReconstructableJob, dg.DagsterRun]:
    """A run of the location's job with its remote origin (the UI's filter by job and repository)
    and its python origin (what re-execution and dead-run release reconstruct)."""
    origin = code_location()
    repository = reconstructable_repository(origin)
    job = repository.get_reconstructable_job(job_name)
    job_def = job.get_definition()
    run = instance.create_run_for_job(
        job_def,
        run_config=run_config,
        tags={**job_def.tags, **tags},
        remote_job_origin=RemoteRepositoryOrigin(origin, repository.get_definition().name).get_job_origin(job_name),
        job_code_origin=job.get_python_origin(),
    )
    return job, run


def execute_location_run(instance: dg.DagsterInstance, job: ReconstructableJob,
                         run: dg.DagsterRun) -> Iterator[dg.DagsterEvent]:
    """Executes the run here and now, yielding its events as they happen."""
    yield from execute_run_iterator(job, run, instance)
