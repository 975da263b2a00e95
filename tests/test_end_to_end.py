"""The whole graph on generated data: every asset materialises, every check passes, counts are exact."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from ingestion.paths import PROJECT_ROOT

from tests.orchestration.build import build_all


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    from orchestration.definitions import defs

    return defs


def test_whole_graph_on_generated_data(defs, sample_data_dir):
    result = build_all(sample_data_dir)
    assert result.success

    materialized = {m.asset_key for m in result.get_asset_materialization_events() for m in [m.materialization]}
    assert materialized == set(defs.resolve_asset_graph().get_all_asset_keys())
    evaluations = result.get_asset_check_evaluations()
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []
    assert len(evaluations) == len(defs.resolve_asset_graph().asset_check_keys)

    expected = json.loads((sample_data_dir.ground_truth / "expected.json").read_text())
    con = duckdb.connect(str(sample_data_dir.analytics), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM staging.stg_app__action_logs").fetchone()[0] == \
            expected["action_log_events_expected_loaded"]
        assert con.execute("SELECT count(*) FROM staging.stg_app__users").fetchone()[0] == expected["members"]
        assert con.execute("SELECT count(*) FROM staging.stg_customerio__reporting_webhooks").fetchone()[0] == \
            expected["webhook_reporting_unique"]
        assert con.execute("SELECT count(*) FROM staging.stg_customerio__exports").fetchone()[0] == expected["export_rows"]
        assert con.execute("SELECT count(*) FROM staging.stg_app__erasure_requests").fetchone()[0] == expected["erasure_requests"]
        # Features: every member but the erased has one row, a segment and a churn risk level.
        erased = con.execute("SELECT count(*) FROM staging.stg_app__erasure_requests").fetchone()[0]
        features = con.execute("""SELECT count(*), count(segment), count(churn_risk_level),
            count(*) FILTER (WHERE btyd_recency > btyd_t OR btyd_frequency < 0) FROM marts.member_features""").fetchone()
        assert features == (expected["members"] - erased,) * 3 + (0,)
        # Achievements: one progress row per member and applicable achievement; completions match.
        applicable = con.execute("""SELECT sum(m.members * (
                SELECT count(DISTINCT c.achievement_key) FROM staging.stg_app__achievement_configs AS c
                WHERE c.is_active AND (c.brand_id IS NULL OR c.brand_id = m.brand_id)))
            FROM (SELECT brand_id, count(*) AS members FROM marts.member_features GROUP BY ALL) AS m""").fetchone()[0]
        progress = con.execute("""SELECT count(*), count(DISTINCT profile_id), sum(times_completed),
            count(*) FILTER (WHERE completed AND completed_at IS NULL) FROM marts.achievement_progress""").fetchone()
        completions = con.execute("SELECT count(*) FROM marts.achievement_completions").fetchone()[0]
        assert progress[1] == expected["members"] - erased and progress[3] == 0
        assert progress[2] == completions > 0
        assert progress[0] == applicable
        # Cards: every member has a document, and every document is valid against the published schema.
        schema = json.loads((PROJECT_ROOT / "docs" / "schemas" / "cards" / "member_cards.schema.json").read_text())
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        documents = [json.loads(d) for (d,) in con.execute("SELECT document FROM marts.member_card_documents").fetchall()]
        assert len(documents) == expected["members"] - erased
        invalid = [(d["user_id"], e.message) for d in documents for e in validator.iter_errors(d)]
        assert invalid == []
        assert all(1 <= len(d["cards"]) <= 3 for d in documents)
        assert len({c["type"] for d in documents for c in d["cards"]}) >= 5
        quarantined = dict(con.execute(
            "SELECT reason, count(*) FROM audit.quarantine WHERE source = 'app_action_logs' GROUP BY ALL").fetchall())
        assert quarantined == {k: v for k, v in expected["action_log_malformed"].items() if v}
    finally:
        con.close()

    ingest = next(m.materialization for m in result.get_asset_materialization_events()
                  if m.materialization.asset_key == dg.AssetKey(["raw", "app_action_logs"]))
    meta = ingest.metadata
    assert meta["rows_loaded"].value == expected["action_log_events_expected_loaded"]
    assert meta["rows_duplicate"].value == expected["action_log_resent_duplicates"]
    assert meta["dagster/row_count"].value == expected["action_log_events_expected_loaded"]

    # A second build over the same landing zone loads nothing twice.
    again = build_all(sample_data_dir)
    assert again.success
    rerun = next(m.materialization for m in again.get_asset_materialization_events()
                 if m.materialization.asset_key == dg.AssetKey(["raw", "app_action_logs"]))
    assert rerun.metadata["rows_loaded"].value == 0
    assert rerun.metadata["dagster/row_count"].value == expected["action_log_events_expected_loaded"]
    # The completion feed is a history: the second build detected nothing new.
    con = duckdb.connect(str(sample_data_dir.analytics), read_only=True)
    try:
        assert con.execute("SELECT count(DISTINCT detected_by_invocation) FROM marts.achievement_completions").fetchone()[0] == 1
    finally:
        con.close()
    # The second build compared the feature distributions with the first: nothing moved.
    (drift,) = [e for e in again.get_asset_check_evaluations() if e.check_name == "key_features_stable"]
    assert drift.passed and set(drift.metadata["psi"].value.values()) == {0.0}


def test_cli_generates_when_empty_and_builds_everything(data_dir, dbt_manifest, capsys):
    from orchestration.cli import run

    assert run(["--members", "150", "--days", "5", "--brands", "1"]) == 0
    out = capsys.readouterr().out
    assert "is empty: generating sample data" in out
    assert "succeeded" in out and str(data_dir.analytics) in out
    assert data_dir.analytics.exists() and data_dir.warehouse.exists()
