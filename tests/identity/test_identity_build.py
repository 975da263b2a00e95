"""Identity on generated data through the real graph: quality against the ground truth, rules,
stable ids when a day arrives, metadata, the super-node alarm and the dbt unit tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from identity.quality import pairwise_scores
from ingestion.paths import DATA_DIR_ENV, DataPaths
from ingestion.sources import ACTION_LOGS
from sample_data.catalog import JUNK_IDENTIFIERS
from sample_data.generator import Scale, generate
from tests.orchestration.build import build_all

SCALE = Scale(brands=3, members=1500, days=21, seed=11, as_of=date(2026, 11, 20))


# Builds the whole pipeline: deselected by the quick run (scripts/test -m "not slow").
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory, dbt_manifest):
    """Build once without the last day, record the ids and the erased members' profiles, then build again with it."""
    root = tmp_path_factory.mktemp("identity") / "data"
    generate(root, SCALE)
    paths = DataPaths(root).ensure()
    days = sorted((paths.landing / ACTION_LOGS.folder).glob("dt=*"))
    held_back = root.parent / days[-1].name
    shutil.move(days[-1], held_back)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_DIR_ENV, str(root))
        mp.setenv("DAGSTER_HOME", str(root.parent))
        first = build_all(paths)
        assert first.success
        before = ids(paths)
        erased_profiles = [p for (p,) in query(paths, "select profile_id from identity.erasures where profile_id is not null")]
        shutil.move(held_back, days[-1])
        second = build_all(paths)
        assert second.success
        yield paths, before, second, erased_profiles


def ids(paths: DataPaths) -> dict[tuple, str]:
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return {(b, t, v): p for b, t, v, p in con.execute(
            "select brand_id, id_type, value, profile_id from identity.identifier_profiles where links_profiles").fetchall()}
    finally:
        con.close()


def query(paths: DataPaths, sql: str, params: list | None = None) -> list[tuple]:
    """The identity tables and the staging layer are the pipeline's own, not in the analysts' copy; the
    warehouse is free between builds here."""
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()




def test_same_person_decisions_against_the_ground_truth(built):
    paths, _, _, _ = built
    con = duckdb.connect(str(paths.warehouse), read_only=True)
    scores = pairwise_scores(con, paths.ground_truth / "identifiers.parquet")
    con.close()
    print(f"\npairwise precision {scores.precision:.4f} recall {scores.recall:.4f} over {scores.identifiers} identifiers, "
          f"{scores.true_pairs} true pairs")
    assert scores.identifiers > 5_000
    assert scores.precision >= 0.99
    assert scores.recall >= 0.97


def test_shared_devices_and_household_phones_never_merge_two_members(built):
    paths, _, _, _ = built
    assert query(paths, """select profile_id from identity.identifier_profiles where id_type = 'user_id'
                           group by all having count(*) > 1""") == []
    # Devices and phones seen with two or more members (family tablets, household landlines).
    shared = query(paths, """
        with seen as (
            select d.brand_id, d.id_type, d.value, u.value as user_id
            from intermediate.int_identity__observations as d
            join intermediate.int_identity__observations as u
                on u.source = d.source and u.record_id = d.record_id and u.brand_id = d.brand_id and u.id_type = 'user_id'
            join intermediate.int_identity__identifiers as i
                on i.brand_id = d.brand_id and i.id_type = d.id_type and i.value = d.value
            where d.id_type in ('device_id', 'phone') and i.links_profiles  -- junk is tested below
        )
        select s.id_type, s.value, count(distinct s.user_id) as members, count(distinct p.profile_id) as profiles,
            (select count(*) from identity.identifier_profiles as x
             where x.brand_id = s.brand_id and x.id_type = s.id_type and x.value = s.value) as holders
        from seen as s
        join identity.identifier_profiles as p on p.brand_id = s.brand_id and p.id_type = 'user_id' and p.value = s.user_id
        group by s.brand_id, s.id_type, s.value having count(distinct s.user_id) > 1""")
    assert {row[0] for row in shared} == {"device_id", "phone"}  # the generator made both kinds
    assert [row for row in shared if row[2] != row[3]] == []  # one profile per member
    assert [row for row in shared if row[4] != 1] == []  # the device or phone sits on one of them only


def test_junk_identifiers_link_nothing(built):
    paths, _, _, _ = built
    blocked = query(paths, """select count(*) from intermediate.int_identity__identifiers as i
        join identity.identifier_profiles as p using (brand_id, id_type, value) where i.blocked_reason is not null""")
    assert blocked == [(0,)]
    junk = sorted({v.strip().lower() for values in JUNK_IDENTIFIERS.values() for v in values})
    in_junk = f"lower(value) in ({', '.join(repr(v) for v in junk)})"  # in any case: 'Unknown', 'NULL', 'N/A'
    assert query(paths, f"select count(*) from identity.identifier_profiles where {in_junk}") == [(0,)]
    cased = query(paths, f"""select distinct value from intermediate.int_identity__identifiers
        where {in_junk} and value <> lower(value) and blocked_reason = 'placeholder' order by 1""")
    assert {"N/A", "NULL", "UNKNOWN", "Unknown"} <= {v for (v,) in cased}  # the generator sent them, all blocked
    reasons = dict(query(paths, "select blocked_reason, count(*) from intermediate.int_identity__identifiers "
                                "where blocked_reason is not null group by all"))
    assert {"placeholder", "test_address", "all_zero"} <= set(reasons)


def test_a_new_day_keeps_unrelated_ids(built):
    paths, before, _, _ = built
    after = ids(paths)
    merged = dict(query(paths, "select merged_profile_id, profile_id from identity.profile_merges"))
    changed = {k for k in before if after[k] != before[k]}
    # Every identifier keeps its profile id unless that profile was merged into an older one.
    assert all(merged.get(before[k]) == after[k] for k in changed)
    assert len(changed) < len(before) * 0.05
    assert len(after) > len(before)  # the day brought new identifiers


def test_customer_360_marts_cover_every_profile_but_the_erased(built):
    paths, _, _, erased_profiles = built
    erased = [u for (u,) in query(paths, "select user_id from staging.stg_app__erasure_requests")]
    assert erased and len(erased_profiles) == len(erased)  # the first build resolved each erased member once more
    profiles, members = query(paths, "select count(*), count(*) filter (where is_member) from marts.profiles")[0]
    assert members == SCALE.members - len(erased)
    # Their rows were redacted by the first build: the second finds nothing of them to resolve.
    assert query(paths, "select count(*), count(profile_id) from identity.erasures") == [(len(erased), 0)]
    all_profiles = query(paths, "select count(distinct profile_id) from identity.identifier_profiles")[0][0]
    assert profiles == all_profiles
    assert query(paths, "select min(strength_score), max(strength_score) from marts.profiles")[0][1] <= 100
    for mart in ("profiles", "profile_identifiers", "profile_predictions", "profile_journey", "profile_channel_stats",
                 "profile_product_intents", "profile_store_visits"):
        left = query(paths, f"select count(*) from marts.{mart} where profile_id in (select unnest(?))", [erased_profiles])
        assert left == [(0,)], mart
    assert query(paths, "select count(*) from marts.profiles where user_id in (select unnest(?))", [erased]) == [(0,)]
    timeline = query(paths, "select count(*) from marts.profile_journey")[0][0]
    resolved_events = query(paths, "select count(*) from identity.record_profiles where source = 'action_log'")[0][0]
    assert timeline == resolved_events
    assert query(paths, "select count(*) from marts.profile_channel_stats where preferred_channel is null") == [(0,)]


def test_materialization_metadata_and_the_super_node_alarm(built):
    paths, _, second, _ = built
    event = next(e.materialization for e in second.get_asset_materialization_events()
                 if e.materialization.asset_key == dg.AssetKey(["identity", "identifier_profiles"]))
    meta = {k: v.value for k, v in event.metadata.items()}
    for key in ("profiles", "merges_this_build", "review_queue", "largest_profile", "dagster/row_count"):
        assert key in meta
    # Resolution counted the erased members' profiles, which the erasure step then removed.
    assert meta["profiles"] == query(paths, """select (select count(distinct profile_id) from identity.identifier_profiles)
        + (select count(distinct profile_id) from identity.erasures)""")[0][0]

    from assets.identity import LARGEST_PROFILE_WITHIN_BOUND, identity_resolution
    from orchestration.resources import WarehouseResource

    def check_passed(bound: int) -> bool:
        result = dg.materialize([identity_resolution], resources={"warehouse": WarehouseResource(data_dir=str(paths.root))},
                                run_config={"ops": {"identity_resolution": {"config": {"super_node_bound": bound}}}})
        (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == LARGEST_PROFILE_WITHIN_BOUND]
        return evaluation.passed

    assert check_passed(meta["largest_profile"])
    assert not check_passed(meta["largest_profile"] - 1)


def test_dbt_unit_tests_pass(built):
    from dbt.cli.main import dbtRunner

    from assets.dbt_project import DBT_PROJECT_DIR, DBT_TARGET_DIR

    paths, _, second, _ = built
    # The build ran the data tests, not the unit tests: those are the suite's (here), not every build's.
    built_nodes = [r["unique_id"] for f in DBT_TARGET_DIR.glob(f"*-{second.run_id[:7]}-*/run_results.json")
                   for r in json.loads(f.read_text())["results"]]
    assert any(n.startswith("test.") for n in built_nodes) and not any(n.startswith("unit_test.") for n in built_nodes)
    os.environ["SYNERGY_WAREHOUSE_PATH"] = str(paths.warehouse)
    result = dbtRunner().invoke(["test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT_DIR),
                                 "--profiles-dir", str(DBT_PROJECT_DIR)])
    assert result.success
    assert len(result.result.results) >= 2


LINKS_FROM_SCRATCH = """
    select o.source, o.brand_id, o.record_id, o.observed_at, o.id_type, o.value, i.priority, i.max_per_profile
    from intermediate.int_identity__observations as o
    join intermediate.int_identity__identifiers as i using (brand_id, id_type, value)
    where i.links_profiles"""


def different_links(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """Rows only in int_identity__links, and only in the links computed from every observation."""
    return con.execute(f"""select
        (select count(*) from (select * from intermediate.int_identity__links except all {LINKS_FROM_SCRATCH})),
        (select count(*) from ({LINKS_FROM_SCRATCH} except all select * from intermediate.int_identity__links))""").fetchone()


def test_event_links_kept_incrementally_equal_links_from_scratch_and_follow_a_rules_change(built, tmp_path):
    from assets.dbt_project import DBT_PROJECT_DIR

    paths, _, _, _ = built
    # A copy: an earlier test's dbt left its connection to the built warehouse open in this process.
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(paths.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        assert different_links(con) == (0, 0)  # after two builds, the second appending the last day's files
        con.execute("update config.identity_rules set priority = priority + 10 where id_type = 'email'")
        con.execute("update config.identity_rules set links_profiles = false where id_type = 'cookie_id'")
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run([str(dbt), "run", "--select", "int_identity__identifiers", "int_identity__event_links",
                    "int_identity__record_links", "int_identity__links", "--target-path", str(tmp_path / "target"),
                    "--profiles-dir", "."], cwd=DBT_PROJECT_DIR, check=True,
                   env={**os.environ, "SYNERGY_WAREHOUSE_PATH": str(warehouse)})
    with duckdb.connect(str(warehouse)) as con:
        assert different_links(con) == (0, 0)
        cookies, emails = con.execute("""select count(*) filter (where id_type = 'cookie_id'),
            count(*) filter (where id_type = 'email') from intermediate.int_identity__event_links""").fetchone()
        assert cookies == 0 and emails > 0
