"""The identity statement timer runs a real resolution and lists its statements, slowest first."""

import subprocess
import sys

import duckdb

from tests.identity.links import add_observations, observation as o


def test_it_resolves_and_lists_each_statement(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    add_observations(warehouse, [o("e1", "2026-11-01 08:00:00+00", "user_id", "1"),
                                 o("e1", "2026-11-01 08:00:00+00", "cookie_id", "ck"),
                                 o("e2", "2026-11-01 09:00:00+00", "cookie_id", "ck")])
    run = subprocess.run([sys.executable, "-m", "benchmarks.resolve_statements", str(warehouse), "--top", "3"],
                         capture_output=True, text=True, check=True)
    lines = run.stdout.splitlines()
    assert lines[0].startswith("ResolveSummary(records=2,") and "profiles=1," in lines[0]
    assert " statements" in lines[1]
    seconds = [float(line.split()[0]) for line in lines[2:]]
    assert len(seconds) == 3 and seconds == sorted(seconds, reverse=True)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(distinct profile_id) from identity.record_profiles").fetchall() == [(1,)]
