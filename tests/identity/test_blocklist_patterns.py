"""The identifier blocklist's patterns, compiled against a warehouse whose seed is built: each pattern the seed
holds is matched as a literal (compiled once, not once per row), and what the model blocks never depends on what
was known when it compiled: a pattern added to the seed afterwards, or one holding a quote, still blocks."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from assets.dbt_project import DBT_PROJECT_DIR

DBT = Path(sys.executable).with_name("dbt")
SEED = DBT_PROJECT_DIR / "seeds" / "identity" / "identity_blocklist.csv"
QUOTED = ".*'neil@.*"
COMPILED = Path("compiled") / "synergy" / "models" / "intermediate" / "identity" / "int_identity__identifiers.sql"


def dbt(args: list[str], warehouse: Path, target: Path) -> None:
    env = {**os.environ, "SYNERGY_ENGINE": "duckdb", "SYNERGY_WAREHOUSE_PATH": str(warehouse),
           "SYNERGY_DUCKDB_TEMP_DIR": str(warehouse.parent / "duckdb-tmp")}
    done = subprocess.run([str(DBT), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                           str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path", str(target / "logs")],
                          env=env, cwd=DBT_PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory, dbt_manifest) -> tuple[Path, str]:
    """A warehouse with the blocklist and rules seeds built, one more pattern holding a quote in the blocklist, and
    the identifiers model compiled against it."""
    root = tmp_path_factory.mktemp("blocklist")
    warehouse, target = root / "warehouse.duckdb", root / "target"
    dbt(["seed", "--select", "identity_blocklist", "identity_rules"], warehouse, target)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into config.identity_blocklist (id_type, pattern, reason) values ('email', $1, 'quoted')",
                    [QUOTED])
    dbt(["compile", "--select", "int_identity__identifiers"], warehouse, target)
    return warehouse, (target / COMPILED).read_text()


def seed_patterns() -> list[str]:
    with SEED.open() as f:
        return [row["pattern"] for row in csv.DictReader(f) if row["pattern"]]


def test_each_pattern_of_the_built_seed_is_matched_as_a_literal(compiled):
    _, sql = compiled
    patterns = seed_patterns()
    assert len(patterns) >= 2
    for pattern in patterns:
        assert f"when '{pattern}' then regexp_full_match(i.value, '{pattern}', 'i')" in sql, sql


def test_quoted_patterns_and_patterns_unknown_at_compile_time_still_block(compiled):
    warehouse, sql = compiled
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists intermediate")
        con.execute("""create table intermediate.int_identity__observations as
            select 'action_log' as source, 1::bigint as brand_id, 'r' || v as record_id,
                   timestamptz '2026-11-01 10:00:00+00' as observed_at, t as id_type, v as value
            from (values ('email', 'shop@example.com'), ('device_id', '0000-0000'), ('email', 'o''neil@shop.test'),
                         ('loyalty_id', 'DEMO-42'), ('loyalty_id', 'L-42')) as o(t, v)""")
        con.execute("""insert into config.identity_blocklist (id_type, pattern, reason)
            values ('loyalty_id', 'demo-[0-9]+', 'added_later')""")
        blocked = dict(con.execute(f"select value, blocked_reason from ({sql})").fetchall())
    finally:
        con.close()
    assert "neil" not in sql and "demo-" not in sql  # one left to the column, one not known when it compiled
    assert blocked == {"shop@example.com": "test_address", "0000-0000": "all_zero", "o'neil@shop.test": "quoted",
                       "DEMO-42": "added_later", "L-42": None}
