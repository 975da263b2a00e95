"""The whole graph on generated data: every asset materialises, every check passes, counts are exact."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from fake_customerio import FakeCustomerIO
from ingestion.paths import PROJECT_ROOT

from tests.orchestration.build import activate, build_all
from tests.readme_queries import readme_sql_statements, statements_without_rows

# Builds the whole pipeline: deselected by the quick run (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

ACTIVATION_KEYS = {dg.AssetKey(["activation", "customerio_outbound_queue"]),
                   dg.AssetKey(["activation", "customerio_sync"]), dg.AssetKey("card_snapshots")}


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    from orchestration.definitions import defs

    return defs


def test_whole_graph_on_generated_data(defs, sample_data_dir, monkeypatch):
    instance = dg.DagsterInstance.ephemeral()
    # The automation sensor's tick before the build: nothing to start yet, but the cursor is set.
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert before.total_requested == 0
    result = build_all(sample_data_dir, instance)
    assert result.success

    graph = defs.resolve_asset_graph()
    materialized = {m.asset_key for m in result.get_asset_materialization_events() for m in [m.materialization]}
    assert materialized == set(graph.get_all_asset_keys()) - ACTIVATION_KEYS - {PULL_KEY}
    evaluations = result.get_asset_check_evaluations()
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []
    assert len(evaluations) == len([k for k in graph.asset_check_keys if k.asset_key not in ACTIVATION_KEYS])

    # The automation sensor would now start the activation assets: the marts they read were rebuilt and checked.
    automation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
    assert {k for k in ACTIVATION_KEYS if automation.get_num_requested(k)} == ACTIVATION_KEYS
    with FakeCustomerIO().start_thread() as fake:
        first = check_activation(sample_data_dir, instance, fake, monkeypatch)

    expected = json.loads((sample_data_dir.ground_truth / "expected.json").read_text())
    # The staging layer is the pipeline's own (not in the analysts' snapshot): read it from the warehouse.
    warehouse = duckdb.connect(str(sample_data_dir.warehouse), read_only=True)
    try:
        assert warehouse.execute("SELECT count(*) FROM staging.stg_app__action_logs").fetchone()[0] == \
            expected["action_log_events_expected_loaded"]
        assert warehouse.execute("SELECT count(*) FROM staging.stg_app__users").fetchone()[0] == expected["members"]
        assert warehouse.execute("SELECT count(*) FROM staging.stg_customerio__reporting_webhooks").fetchone()[0] == \
            expected["webhook_reporting_unique"]
        assert warehouse.execute("SELECT count(*) FROM staging.stg_customerio__exports").fetchone()[0] == expected["export_rows"]
        erased = warehouse.execute("SELECT count(*) FROM staging.stg_app__erasure_requests").fetchone()[0]
        assert erased == expected["erasure_requests"]
        applicable_keys = warehouse.execute("""SELECT b.brand_id, count(DISTINCT c.achievement_key) FROM (
            SELECT DISTINCT brand_id FROM staging.stg_app__brands) AS b, staging.stg_app__achievement_configs AS c
            WHERE c.is_active AND (c.brand_id IS NULL OR c.brand_id = b.brand_id) GROUP BY ALL""").fetchall()
    finally:
        warehouse.close()
    con = duckdb.connect(str(sample_data_dir.analytics), read_only=True)
    try:
        # Features: every member but the erased has one row, a segment and a churn risk level.
        features = con.execute("""SELECT count(*), count(segment), count(churn_risk_level),
            count(*) FILTER (WHERE btyd_recency > btyd_t OR btyd_frequency < 0) FROM marts.member_features""").fetchone()
        assert features == (expected["members"] - erased,) * 3 + (0,)
        # Achievements: one progress row per member and applicable achievement; completions match.
        members = dict(con.execute("SELECT brand_id, count(*) FROM marts.member_features GROUP BY ALL").fetchall())
        applicable = sum(members.get(brand, 0) * keys for brand, keys in applicable_keys)
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
    # The analysts' README queries run as written on the snapshot (now with the first sync's outcome), and show
    # something: member 105 has a journey and a prediction in this sample as in the default one (README).
    readme_statements = readme_sql_statements()
    assert len(readme_statements) >= 10 and any("user_id = 105" in s for s in readme_statements)
    empty = statements_without_rows(sample_data_dir.analytics)
    assert [s for s in empty if "from activation.dead_letters" not in s] == []  # a sync that delivered everything has none
    # The second build compared the feature distributions with the first: nothing moved.
    (drift,) = [e for e in again.get_asset_check_evaluations() if e.check_name == "key_features_stable"]
    assert drift.passed and set(drift.metadata["psi"].value.values()) == {0.0}

    # Activating again after a build that changed nothing sends nothing and rewrites no card.
    with FakeCustomerIO().start_thread() as fake:
        monkeypatch.setenv("CUSTOMERIO_TRACK_URL", fake.base_url)
        second = activate(instance)
        assert second.success
        meta = materializations(second)
        queue = meta[dg.AssetKey(["activation", "customerio_outbound_queue"])]
        assert queue["identifies_queued"].value == queue["events_queued"].value == queue["erasures"].value == 0
        assert queue["events_deduplicated"].value > 0  # the cursor overlap re-read events: absorbed by their ids
        assert meta[dg.AssetKey(["activation", "customerio_sync"])]["items_delivered"].value == 0
        assert fake.requests().total() == 0
        cards = meta[dg.AssetKey("card_snapshots")]
        assert cards["changed"].value == 0 and cards["version"].value == first["card_version"] + 1


PULL_KEY = dg.AssetKey(["landing", "customerio_people_export"])


def materializations(result: dg.ExecuteInProcessResult) -> dict:
    return {e.materialization.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}


def check_activation(data_dir, instance, fake: FakeCustomerIO, monkeypatch) -> dict:
    """One brand syncs to the fake Customer.io, the other has no credentials (dry run to the outbox)."""
    con = duckdb.connect(str(data_dir.warehouse), read_only=True)  # the sync's feed is a view: not in the snapshot
    try:
        live_brand, erased_person = con.execute("""
            SELECT brand_id, 'user-' || user_id FROM staging.stg_app__erasure_requests ORDER BY ALL LIMIT 1""").fetchone()
        people = dict(con.execute("SELECT brand_id, count(*) FROM marts.customerio_people GROUP BY ALL").fetchall())
        # A new stream starts with the events of the 72 hours before its newest one (QueueConfig.backfill_hours).
        events = dict(con.execute("""
            SELECT brand_id, count(*) FILTER (WHERE occurred_at >= newest - INTERVAL 72 HOUR) FROM (
                SELECT brand_id, occurred_at, max(occurred_at) OVER (PARTITION BY brand_id) AS newest
                FROM marts.customerio_events) GROUP BY ALL""").fetchall())
        documents = con.execute("SELECT count(*) FROM marts.member_card_documents").fetchone()[0]
    finally:
        con.close()
    site = fake.workspaces[0]
    monkeypatch.setenv(f"CUSTOMERIO_SITE_ID_{live_brand}", site.site_id)
    monkeypatch.setenv(f"CUSTOMERIO_API_KEY_{live_brand}", site.api_key)
    monkeypatch.setenv("CUSTOMERIO_TRACK_URL", fake.base_url)

    result = activate(instance)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    meta = materializations(result)
    assert set(meta) == ACTIVATION_KEYS
    # Live brand: every member identified once with the full attribute set, every event delivered once.
    sent_people = fake.people(site.site_id)
    assert len(sent_people) == people[live_brand]
    assert all("profile_id" in p["attributes"] and "rfm_segment" in p["attributes"] for p in sent_people.values())
    delivered = fake.delivered(site.site_id)
    assert len(delivered) == events[live_brand] and set(delivered.values()) == {1}
    assert f"id:{erased_person}" in fake.suppressed(site.site_id)
    # The catalog's payload shapes (integration spec §2.1): full product and user snapshots.
    scan = next(e for e in fake.events(site.site_id).values() if e["name"] == "product_scanned")
    snapshot = scan["attributes"]
    assert set(snapshot["product_snapshot"]) == {"identity", "economy", "taxonomy"}
    assert set(snapshot["user_snapshot"]) == {"identity", "economy", "status", "profile_data"}
    assert snapshot["user_snapshot"]["identity"]["user_id"] == int(scan["person"].removeprefix("id:user-"))
    # Dry-run brands: the exact bodies are in the outbox, one item per person and event.
    outbox = data_dir.root / "outbox"
    dry = [item for path in outbox.glob("brand=*/batch-*.json") for item in json.loads(path.read_text())["batch"]]
    assert len(dry) == sum(people.values()) + sum(events.values()) - people[live_brand] - events[live_brand]
    assert erased_person not in {item["identifiers"]["id"] for item in dry}
    cards = meta[dg.AssetKey("card_snapshots")]
    assert cards["members_published"].value == cards["changed"].value == documents
    return {"card_version": cards["version"].value}


def test_cli_generates_when_empty_and_builds_everything(data_dir, dbt_manifest, capsys):
    from orchestration.cli import run

    assert run(["--members", "150", "--days", "5", "--brands", "1"]) == 0
    out = capsys.readouterr().out
    assert "is empty: generating sample data" in out
    assert "succeeded" in out and "(activate): succeeded" in out and str(data_dir.analytics) in out
    assert data_dir.analytics.exists() and data_dir.warehouse.exists()
    # Without credentials the sync is a dry run: the request bodies are in the outbox.
    assert list((data_dir.outbox / "brand=1").glob("batch-*.json"))
    assert (data_dir.cards / "cards.sqlite").exists()
