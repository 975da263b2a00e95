"""What `synergy run` shows of a run while it executes: one line per step with its duration and what
this run did (summed from the step's own materializations, never the warehouse's running totals), the
checks that failed, and a live line with a progress bar for the step in progress on a terminal."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

# Materialization metadata that says what a run did, in the order shown, with its wording. Anything
# else (table totals, paths, sizes) describes the state after the run, not the run.
FIGURES = {
    "files_loaded": ("new file", "new files"),
    "files_rejected": ("file rejected", "files rejected"),
    "files_failed": ("file FAILED", "files FAILED"),
    "rows_loaded": ("row loaded", "rows loaded"),
    "rows_quarantined": ("quarantined", "quarantined"),
    "rows_duplicate": ("duplicate", "duplicates"),
    "identifies_queued": ("person queued", "people queued"),
    "events_queued": ("event queued", "events queued"),
    "erasures": ("erasure", "erasures"),
    "items_delivered": ("delivered", "delivered"),
    "dry_run_destinations": ("brand dry-run", "brands dry-run"),
    "dead_lettered": ("dead-lettered", "dead-lettered"),
    "changed": ("card changed", "cards changed"),
    "removed": ("card removed", "cards removed"),
}


def _count(n: int, wording: tuple[str, str]) -> str:
    return f"{n:,} {wording[n != 1]}"


def describe(figures: Counter, assets: int = 0, checks_passed: int = 0, checks_failed: int = 0) -> str:
    """The figures that are not zero; "nothing new" when the step reports figures and all are zero."""
    parts = [_count(figures[name], wording) for name, wording in FIGURES.items() if figures[name]]
    if figures and not parts:
        parts.append("nothing new")
    if assets > 1:
        parts.append(_count(assets, ("asset", "assets")))
    if checks_passed:
        parts.append(_count(checks_passed, ("check passed", "checks passed")))
    if checks_failed:
        parts.append(_count(checks_failed, ("check FAILED", "checks FAILED")))
    return ", ".join(parts) or "done"


@dataclass
class StepReport:
    key: str
    label: str
    expected: int  # assets and checks the step reports on
    started: float | None = None
    seconds: float | None = None
    status: str = "pending"  # running, succeeded, failed, skipped
    error: str | None = None
    assets: set[dg.AssetKey] = field(default_factory=set)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    figures: Counter = field(default_factory=Counter)

    @property
    def done(self) -> int:
        return len(self.assets) + self.checks_passed + len(self.checks_failed)

    def describe(self) -> str:
        return describe(self.figures, len(self.assets), self.checks_passed, len(self.checks_failed))


def plan_steps(instance: dg.DagsterInstance, run: dg.DagsterRun) -> dict[str, StepReport]:
    """The run's steps as planned, each named by its asset when it has one, else by its op."""
    plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    steps = {}
    for step in plan.steps:
        if step.key not in plan.step_keys_to_execute:
            continue
        properties = [o.properties for o in step.outputs if o.properties]
        assets = {p.asset_key for p in properties if p.asset_key}
        checks = [p.asset_check_key for p in properties if p.asset_check_key]
        if len(assets) == 1:
            label = next(iter(assets)).to_user_string()
        elif not assets and len(checks) == 1:
            label = f"{checks[0].asset_key.to_user_string()}:{checks[0].name}"
        else:
            label = step.key
        steps[step.key] = StepReport(step.key, label, expected=len(assets) + len(checks))
    return steps


def _number(value: dg.MetadataValue) -> int | float | None:
    raw = getattr(value, "value", None)
    return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None


class RunProgress:
    """Folds a run's events into step reports and shows them as they finish."""

    def __init__(self, console: Console, job_name: str, steps: Mapping[str, StepReport]):
        self.console = console
        self.job_name = job_name
        self.steps = dict(steps)
        self.width = max((len(s.label) for s in self.steps.values()), default=0)
        self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=console, transient=True,
                             disable=not console.is_terminal,
                             # sys.stdout and sys.stderr are the log file: they stay there
                             redirect_stdout=False, redirect_stderr=False)
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> RunProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self._bar.stop()

    def handle(self, event: dg.DagsterEvent) -> None:
        step = self.steps.get(event.step_key) if event.step_key else None
        if step is None:
            return
        data = event.event_specific_data
        if event.is_step_start:
            step.status, step.started = "running", time.monotonic()
            self._tasks[step.key] = self._bar.add_task(f"{self.job_name}: {step.label}", total=step.expected or None)
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            step.assets.add(event.asset_key)
            for name, value in event.step_materialization_data.materialization.metadata.items():
                if name in FIGURES and (number := _number(value)) is not None:
                    step.figures[name] += number
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            if data.passed:
                step.checks_passed += 1
            else:
                step.checks_failed.append(f"{data.asset_key.to_user_string()}:{data.check_name} ({data.severity.value})")
        elif event.is_step_success:
            self._finish(step, "succeeded", data.duration_ms / 1000)
        elif event.is_step_failure:
            step.error = (data.error.message.strip().splitlines() or ["failed"])[-1] if data.error else "failed"
            self._finish(step, "failed", time.monotonic() - step.started if step.started else None)
        elif event.is_step_skipped:
            self._finish(step, "skipped", None)
        if step.key in self._tasks:
            self._bar.update(self._tasks[step.key], completed=step.done)

    def _finish(self, step: StepReport, status: str, seconds: float | None) -> None:
        step.status, step.seconds = status, seconds
        if step.key in self._tasks:
            self._bar.remove_task(self._tasks.pop(step.key))
        mark = {"succeeded": "✓", "failed": "✗", "skipped": "-"}[status]
        duration = f"{seconds:6.1f} s" if seconds is not None else " " * 8
        detail = f"FAILED: {step.error}" if status == "failed" else ("skipped" if status == "skipped" else step.describe())
        self.console.print(f"  {mark} {step.label:<{self.width}}  {duration}  {detail}")
        for check in step.checks_failed:
            self.console.print(f"      check failed: {check}")

    def figures(self) -> Counter:
        """What the whole run did, summed over its steps (zeros kept: they say nothing was new)."""
        total = Counter()
        for step in self.steps.values():
            total.update(step.figures)
        return total

    def summary(self) -> str:
        steps = self.steps.values()
        return describe(self.figures(), checks_passed=sum(s.checks_passed for s in steps),
                        checks_failed=sum(len(s.checks_failed) for s in steps))
