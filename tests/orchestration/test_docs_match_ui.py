"""What the README and docs/ say about schedules, sensors, groups and selections is what the UI shows."""

from __future__ import annotations

import re

import dagster as dg
import pytest

from ingestion.paths import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
DOCUMENTS = [README, *sorted((PROJECT_ROOT / "docs").glob("*.md"))]

# "schedule `x`", "`x` sensor", "sensors `x`, `y`" and any `..._sensor` / `..._schedule` name.
NAMED = re.compile(r"\b(?:schedules?|sensors?)\s+`([a-z0-9_]+)`|`([a-z0-9_]+)`\s+(?:schedule|sensor)\b"
                   r"|`([a-z0-9_]+_(?:schedule|sensor))`")
# "`x` (stopped by default", "`x` (off by default", "`x` (on", "`x` (running".
STATED = re.compile(r"`([a-z0-9_]+)`\s*\((stopped by default|off by default|on\b|running\b)")


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    from orchestration.definitions import defs

    return defs


def automation(defs) -> dict[str, tuple[str, str]]:
    """name: (kind, 'running' or 'stopped' by default), as the UI lists them."""
    found = {s.name: ("schedule", "running" if s.default_status == dg.DefaultScheduleStatus.RUNNING else "stopped")
             for s in defs.schedules}
    found.update({s.name: ("sensor", "running" if s.default_status == dg.DefaultSensorStatus.RUNNING else "stopped")
                  for s in defs.sensors})
    return found


def table_after(text: str, header: str) -> list[list[str]]:
    lines = text[text.index(header):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_readme_lists_every_schedule_and_sensor_with_its_default(defs):
    rows = table_after(README.read_text(), "| name | kind | by default |")
    assert {row[0].strip("`"): (row[1], row[2]) for row in rows} == automation(defs)


def test_every_schedule_or_sensor_the_docs_name_exists_with_the_stated_default(defs):
    known = automation(defs)
    for document in DOCUMENTS:
        text = document.read_text()
        named = {name for match in NAMED.finditer(text) for name in match.groups() if name}
        assert named <= known.keys(), (document.name, named - known.keys())
        for name, said in STATED.findall(text):
            if said.startswith(("stopped", "off")) or name in known:
                state = "stopped" if said.startswith(("stopped", "off")) else "running"
                assert known.get(name, (None, None))[1] == state, (document.name, name, said)


def test_the_nightly_schedule_builds_yesterdays_partition(defs):
    from datetime import UTC, datetime

    schedule = defs.resolve_schedule_def("nightly_build")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                            scheduled_execution_time=datetime(2026, 11, 20, 2, 15, tzinfo=UTC))
        [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-11-19"
    assert schedule.cron_schedule == "15 2 * * *" and schedule.execution_timezone == "UTC"


def test_the_readme_names_every_group_in_the_order_of_the_data(defs):
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    text = README.read_text()
    story = text[text.index("The groups follow the data"):text.index("Open Lineage")]
    told = re.findall(r"`([a-z_0-9]+)`", story)
    assert sorted(told) == sorted(groups)
    # Told in the order of the data: no group comes before a group it reads from.
    position = {group: told.index(group) for group in told}
    for key in graph.get_all_asset_keys():
        for parent in graph.get(key).parent_keys:
            assert position[graph.get(parent).group_name] <= position[graph.get(key).group_name], (parent, key)


def test_the_readme_selections_resolve_in_the_graph(defs):
    graph = defs.resolve_asset_graph()
    rows = table_after(README.read_text(), "| to see | selection |")
    assert len(rows) >= 4
    for what, selection in rows:
        keys = dg.AssetSelection.from_string(selection.strip("`")).resolve(graph)
        assert 0 < len(keys) < len(graph.get_all_asset_keys()), (what, selection)
