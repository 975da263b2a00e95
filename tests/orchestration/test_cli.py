"""`synergy run` as a user runs it, twice, in its own process: the terminal shows one line per step with
that run's own counts, the full logs go to a file, dbt vars reach dbt, and the runs are the code
location's runs for the Dagster UI (asked through the GraphQL API of a real webserver)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest

from ingestion.landing_files import partition_days
from ingestion.paths import PROJECT_ROOT, DataPaths
from ingestion.sources import ACTION_LOGS, ALL_SOURCES

pytestmark = pytest.mark.slow

TIMEOUT = 900
STEP_LINE = re.compile(r"^  (?P<mark>[✓✗-]) (?P<label>\S+)\s+(?P<seconds>[\d.]+) s  (?P<detail>.*)$")
RUN_LINE = re.compile(r"^run (?P<run_id>[0-9a-f-]{36}) (?P<job>\w+) (?P<outcome>succeeded|FAILED) in ")
LOG_LINE = re.compile(r"^full log: (?P<path>\S+)$")


@dataclass
class CliRun:
    returncode: int
    output: str

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()

    def steps(self) -> dict[str, tuple[str, str]]:
        return {m["label"]: (m["mark"], m["detail"]) for line in self.lines if (m := STEP_LINE.match(line))}

    def run_ids(self) -> dict[str, str]:
        return {m["job"]: m["run_id"] for line in self.lines if (m := RUN_LINE.match(line))}

    def log(self) -> Path:
        return Path(next(m["path"] for line in self.lines if (m := LOG_LINE.match(line))))


def synergy_run(data: Path, home: Path, *args: str) -> CliRun:
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(data), *args],
                          cwd=PROJECT_ROOT, env={**os.environ, "DAGSTER_HOME": str(home)},
                          capture_output=True, text=True, timeout=TIMEOUT)
    return CliRun(done.returncode, done.stdout + done.stderr)


@dataclass
class TwoRuns:
    data: DataPaths
    home: Path
    first: CliRun
    second: CliRun
    natural_valid_from: set[date]
    as_of: date


def member_cards_valid_from(paths: DataPaths) -> set[date]:
    with duckdb.connect(str(paths.analytics), read_only=True) as con:
        return {row[0].date() for row in con.execute("SELECT DISTINCT valid_from FROM marts.member_cards").fetchall()}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    """A first run on an empty landing zone (it generates), then a second one with nothing new and an
    as_of ten days after the newest action-log folder."""
    root = tmp_path_factory.mktemp("cli")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    paths = DataPaths(root / "data")
    first = synergy_run(paths.root, home, "--members", "150", "--days", "5", "--brands", "1")
    assert first.returncode == 0, first.output[-3000:]
    natural = member_cards_valid_from(paths)
    as_of = max(partition_days(paths.landing, ACTION_LOGS.folder)) + timedelta(days=10)
    second = synergy_run(paths.root, home, "--dbt-vars", json.dumps({"as_of": as_of.isoformat()}))
    assert second.returncode == 0, second.output[-3000:]
    return TwoRuns(paths, home, first, second, natural, as_of)


def test_the_terminal_shows_a_line_per_step_and_the_logs_are_in_a_file(two_runs: TwoRuns):
    for run in (two_runs.first, two_runs.second):
        steps = run.steps()
        # Every step of both jobs, each on one line that succeeded, and little else.
        assert {"raw/app_users", "identity_resolution", "analytics_snapshot", "card_snapshots"} <= set(steps)
        assert {mark for mark, _ in steps.values()} == {"✓"}
        assert len(run.lines) < len(steps) + 25, run.output
        assert max(len(line) for line in run.lines) < 200, run.output
        assert "dagster - INFO" not in run.output and " START " not in run.output
        assert set(run.run_ids()) == {"build_all", "activate"}
        # Dagster's and dbt's own lines are in the run's log file, under the data directory.
        log = run.log()
        assert log.parent == two_runs.data.logs and log.name.startswith("run-")
        text = log.read_text()
        assert "dagster - INFO - build_all" in text and " START sql " in text and "Completed successfully" in text
        # The manifest was parsed with the dbt steps' environment, so they parse partially, not all over again.
        assert "because profile has changed" not in text
    assert two_runs.first.log() != two_runs.second.log()
    # The first run found the landing zone empty and generated a sample; without credentials the sync
    # is a dry run to the outbox; the cards are published.
    assert "is empty: generating sample data" in two_runs.first.output
    assert "is empty" not in two_runs.second.output
    assert list((two_runs.data.outbox / "brand=1").glob("batch-*.json"))
    assert (two_runs.data.cards / "cards.sqlite").exists()


def test_each_run_reports_its_own_counts(two_runs: TwoRuns):
    """The first run's step lines carry what it loaded (as the ledger recorded it); the second run loaded
    nothing and says so, instead of repeating the warehouse's totals."""
    with duckdb.connect(str(two_runs.data.analytics), read_only=True) as con:
        ledger = dict(con.execute("SELECT source, sum(rows_loaded) FROM audit.ingested_files GROUP BY ALL").fetchall())
    first, second = two_runs.first.steps(), two_runs.second.steps()
    for source in ALL_SOURCES:  # action logs: the sum of their partitions' own counts
        rows, detail = ledger[source.name], first[f"raw/{source.name}"][1]
        assert re.match(rf"\d+ new files?, {rows:,} rows? loaded", detail), (source.name, rows, detail)
    for source in ALL_SOURCES:
        assert second[f"raw/{source.name}"][1].startswith("nothing new,"), second[f"raw/{source.name}"]
    summary = next(line for line in two_runs.second.lines if RUN_LINE.match(line) and " build_all " in line)
    assert "new file" not in summary and "rows loaded" not in summary, summary
    # The second run's as_of moved every card's validity: its activation reports the documents it changed.
    assert re.match(r"[\d,]+ cards? changed", second["card_snapshots"][1]), second["card_snapshots"]


def test_dbt_vars_reach_the_dbt_build(two_runs: TwoRuns):
    # Cards are valid from the start of their member's current 7-day period (macros/card_validity.sql): within
    # the week up to the as-of day, which the second run moved ten days on.
    week = {two_runs.as_of - timedelta(days=d) for d in range(7)}
    assert two_runs.natural_valid_from.isdisjoint(week)
    assert member_cards_valid_from(two_runs.data) <= week
    vars_given = re.compile(r"dbt build [^`\n]*--vars")
    assert vars_given.search(two_runs.second.log().read_text())
    assert not vars_given.search(two_runs.first.log().read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(two_runs: TwoRuns):
    """`dagster-webserver` on loopback over the runs' instance, loading workspace.yaml like `dagster dev`."""
    port = free_port()
    log = two_runs.home / "webserver.log"
    with open(log, "w") as out:
        server = subprocess.Popen([str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml",
                                   "-h", "127.0.0.1", "-p", str(port)],
                                  cwd=PROJECT_ROOT, env={**os.environ, "DAGSTER_HOME": str(two_runs.home)},
                                  stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 300
        while job_snapshot_id(url) is None:  # the code location loads in its own process
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        yield url
    finally:
        server.terminate()
        server.wait(60)


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = httpx.post(url, json={"query": query, "variables": variables or {}}, timeout=60)
    response.raise_for_status()
    return response.json()["data"]


def job_snapshot_id(url: str, job: str = "build_all") -> str | None:
    try:
        found = graphql(url, """query($job: String!) { pipelineOrError(params: {pipelineName: $job,
            repositoryName: "__repository__", repositoryLocationName: "synergy"}) { ... on Pipeline { pipelineSnapshotId } } }""",
                        {"job": job})
    except httpx.HTTPError:
        return None
    return found["pipelineOrError"].get("pipelineSnapshotId")


def test_the_runs_are_the_jobs_runs_in_the_ui(two_runs: TwoRuns, webserver: str):
    """What the job's Runs tab asks for (its runs, filtered by the repository label) returns both runs of
    each job, with the snapshot the location serves (so Re-execute does not warn of another version)."""
    with dg.DagsterInstance.from_config(str(two_runs.home)) as instance:
        for record in instance.get_run_records():
            run = record.dagster_run
            assert run.remote_job_origin is not None and run.job_code_origin is not None
            assert run.remote_job_origin.location_name == "synergy"
    for job in ("build_all", "activate"):
        expected = {two_runs.first.run_ids()[job], two_runs.second.run_ids()[job]}
        runs = graphql(webserver, """query($filter: RunsFilter) { runsOrError(filter: $filter) {
            ... on Runs { results { runId status pipelineSnapshotId } } } }""",
                       {"filter": {"pipelineName": job,
                                   "tags": [{"key": ".dagster/repository", "value": "__repository__@synergy"}]}})
        results = runs["runsOrError"]["results"]
        assert {r["runId"] for r in results} == expected
        assert {r["status"] for r in results} == {"SUCCESS"}
        assert {r["pipelineSnapshotId"] for r in results} == {job_snapshot_id(webserver, job)}


CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by scripts/test
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_the_jobs_runs_tab_shows_the_cli_runs_in_a_browser(two_runs: TwoRuns, webserver: str, tmp_path):
    """What the data team sees: the build_all job's Runs tab in a real browser lists both runs `synergy run`
    started (it said "No runs found" when they belonged to no code location)."""
    from playwright.sync_api import sync_playwright

    base = webserver.removesuffix("/graphql")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            page.goto(f"{base}/locations/synergy/jobs/build_all/runs")
            for run in (two_runs.first, two_runs.second):
                page.get_by_text(run.run_ids()["build_all"][:8], exact=True).wait_for(timeout=120_000)
            assert page.get_by_text("No runs found").count() == 0
            page.screenshot(path=str(tmp_path / "build_all-runs.png"))
        finally:
            browser.close()


def test_help_shows_the_defaults():
    done = subprocess.run([sys.executable, "-m", "orchestration.cli", "run", "--help"],
                          capture_output=True, text=True, timeout=120, check=True)
    for default in ("(default: 2000)", "(default: 42)", "(default: data)", "--dbt-vars", "--full-refresh"):
        assert default in done.stdout, done.stdout
