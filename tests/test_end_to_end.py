"""The whole graph on generated data: every asset materialises, every check passes, counts are exact."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from fake_customerio import FakeCustomerIO
from ingestion.landing_files import partition_days
from ingestion.paths import PROJECT_ROOT
from ingestion.sources import ACTION_LOGS

from tests.orchestration.build import activate, build_all
from tests.publishing.strict_schema import strict_problems
from tests.readme_queries import readme_sql_statements, statements_without_rows

# Builds the whole pipeline: deselected by the quick run (scripts/test -m "not slow").
pytestmark = pytest.mark.slow

# The sample holds 14 days: a 7-day churn window lets the warehouse judge the predictions of its first week
# (docs/prediction-quality.md), so the quality marts, their check and the README's queries have rows.
DBT_VARS = {"churn_inactive_days": 7}
ACTIVATION_KEYS = {dg.AssetKey(["activation", "customerio_outbound_queue"]), dg.AssetKey(["activation", "customerio_sync"]),
                   dg.AssetKey(["activation", "customerio_sync_outcome"]), dg.AssetKey("card_snapshots")}


@pytest.fixture(scope="module")
def defs(dbt_manifest):
    from orchestration.definitions import defs

    return defs


def test_whole_graph_on_generated_data(defs, sample_data_dir, monkeypatch, dbt_manifest):
    instance = dg.DagsterInstance.ephemeral()
    # The automation sensor's tick before the build: nothing to start yet, but the cursor is set.
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert before.total_requested == 0
    result = build_all(sample_data_dir, instance, DBT_VARS)
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
    check_snapshot_holds_the_sync_outcome(sample_data_dir)
    check_predictions_and_kpis(sample_data_dir, result)
    check_snapshot_comments_are_the_dbt_descriptions(sample_data_dir, dbt_manifest)
    check_docs_site_stands_alone(sample_data_dir)

    expected = json.loads((sample_data_dir.ground_truth / "expected.json").read_text())
    # The staging layer is the pipeline's own (not in the analysts' snapshot): read it from the warehouse.
    warehouse = duckdb.connect(str(sample_data_dir.warehouse), read_only=True)
    try:
        # Every row is loaded; the erased members' rows keep only their keys (docs/erasure.md) and staging
        # holds the others.
        def loaded_and_staged(raw: str, staged: str, where: str = "true") -> tuple[int, int]:
            (total, live), = warehouse.execute(f"SELECT count(*), count(*) FILTER (WHERE _erased_at IS NULL) "
                                               f"FROM raw.{raw} WHERE {where}").fetchall()
            assert warehouse.execute(f"SELECT count(*) FROM staging.{staged}").fetchone()[0] == live
            return total, live

        erased = warehouse.execute("SELECT count(*) FROM staging.stg_app__erasure_requests").fetchone()[0]
        assert erased == expected["erasure_requests"]
        events, live_events = loaded_and_staged("app_action_logs", "stg_app__action_logs")
        assert events == expected["action_log_events_expected_loaded"] and live_events < events
        assert loaded_and_staged("app_users", "stg_app__users") == (expected["members"], expected["members"] - erased)
        assert loaded_and_staged("customerio_webhooks", "stg_customerio__reporting_webhooks",
                                 "kind = 'reporting'")[0] == expected["webhook_reporting_unique"]
        assert loaded_and_staged("customerio_exports", "stg_customerio__exports")[0] == expected["export_rows"]
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
        # Cards: every member has a document, and every document is valid against the published schema, to the
        # letter of each number (integers written as integers, no more decimals than the field allows).
        schema = json.loads((PROJECT_ROOT / "docs" / "schemas" / "cards" / "member_cards.schema.json").read_text())
        validator = Draft202012Validator(schema, format_checker=FormatChecker())
        first_bytes = card_documents(sample_data_dir)
        documents = [json.loads(d, parse_float=Decimal) for d in first_bytes.values()]
        assert len(documents) == expected["members"] - erased
        invalid = [(d["user_id"], e.message) for d in documents for e in validator.iter_errors(d)]
        assert invalid == []
        assert [(user, p) for user, body in first_bytes.items() for p in strict_problems(body)] == []
        assert all(1 <= len(d["cards"]) <= 3 for d in documents)
        assert len({c["type"] for d in documents for c in d["cards"]}) >= 5
        check_cards_are_actionable(documents)
        # Experiments: every member has an arm in each experiment, and their document carries it for the PWA.
        arms = con.execute("SELECT count(*), count(DISTINCT experiment_key) FROM marts.experiment_assignments").fetchone()
        assert arms == (len(documents) * 3, 3) and all(len(d["experiments"]) == 3 for d in documents)
        # The first generation's card feedback predates any published card: counted, under no experiment.
        assert con.execute("SELECT count(*) FROM marts.card_performance WHERE experiment_key IS NULL").fetchone()[0] > 0
        quarantined = dict(con.execute(
            "SELECT reason, count(*) FROM audit.quarantine WHERE source = 'app_action_logs' GROUP BY ALL").fetchall())
        assert quarantined == {k: v for k, v in expected["action_log_malformed"].items() if v}
    finally:
        con.close()

    # One materialization per action-log partition, each with its own folder's counts: together, the whole load.
    ingest = action_log_partitions(result)
    days = partition_days(sample_data_dir.landing, ACTION_LOGS.folder)
    assert len(ingest) == (days[-1] - days[0]).days + 1
    assert sum(m["rows_loaded"].value for m in ingest.values()) == expected["action_log_events_expected_loaded"]
    assert sum(m["rows_duplicate"].value for m in ingest.values()) == expected["action_log_resent_duplicates"]
    assert sum(m["dagster/row_count"].value for m in ingest.values()) == expected["action_log_events_expected_loaded"]

    # A second build over the same landing zone loads nothing twice, and rewrites every card document to the byte.
    again = build_all(sample_data_dir, dbt_vars=DBT_VARS)
    assert again.success
    assert card_documents(sample_data_dir) == first_bytes
    rerun = action_log_partitions(again)
    assert rerun.keys() == ingest.keys()
    assert {m["rows_loaded"].value for m in rerun.values()} == {0}
    assert {p: m["dagster/row_count"].value for p, m in rerun.items()} == \
        {p: m["dagster/row_count"].value for p, m in ingest.items()}
    # The completion feed is a history: the second build detected nothing new.
    con = duckdb.connect(str(sample_data_dir.analytics), read_only=True)
    try:
        assert con.execute("SELECT count(DISTINCT detected_by_invocation) FROM marts.achievement_completions").fetchone()[0] == 1
    finally:
        con.close()
    # The analysts' README queries run as written on the snapshot (now with the first sync's outcome), and show
    # something: member 138 has a journey and a prediction in this sample as in the default one (README).
    readme_statements = readme_sql_statements()
    assert len(readme_statements) >= 10 and any("user_id = 138" in s for s in readme_statements)
    empty = statements_without_rows(sample_data_dir.analytics)
    # A sync that delivered everything has no dead letters; experiment results need feedback from published cards
    # (tests/test_experiments.py shows them on an appended day).
    assert [s for s in empty if "from activation.dead_letters" not in s and "from marts.experiment_results" not in s] == []
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


def check_predictions_and_kpis(data_dir, result: dg.ExecuteInProcessResult) -> None:
    """Every churn prediction the generator sent is in the history (but the erased members'), judged once its
    window passed; the KPIs have one row per brand and day; both marts carry their per-brand metadata."""
    truth = pl.read_parquet(data_dir.ground_truth / "churn_predictions.parquet")
    warehouse = duckdb.connect(str(data_dir.warehouse), read_only=True)
    try:
        erased = [u for (u,) in warehouse.execute("SELECT user_id FROM staging.stg_app__erasure_requests").fetchall()]
        as_of = warehouse.execute("SELECT max(occurred_at) FROM staging.stg_app__action_logs").fetchone()[0]
    finally:
        warehouse.close()
    expected = truth.filter(~pl.col("user_id").is_in(erased))
    window = timedelta(days=DBT_VARS["churn_inactive_days"])
    with duckdb.connect(str(data_dir.analytics), read_only=True) as con:
        history = con.execute("SELECT count(churn_probability), count(*) FROM marts.prediction_history").fetchone()
        judged = con.execute("SELECT count(*) FILTER (WHERE is_judged) FROM marts.churn_prediction_outcomes").fetchone()[0]
        quality = con.execute("SELECT count(*), sum(predictions) FROM marts.prediction_quality").fetchone()
        kpi_days = dict(con.execute("SELECT brand_id, count(*) FROM marts.program_kpis GROUP BY ALL").fetchall())
        kpi_span = dict(con.execute("SELECT brand_id, max(day) - min(day) + 1 FROM marts.program_kpis GROUP BY ALL").fetchall())
        latest = con.execute("""SELECT brand_id, dau_mau, churn_rate FROM marts.program_kpis
                                QUALIFY row_number() OVER (PARTITION BY brand_id ORDER BY day DESC) = 1""").fetchall()
    assert history[0] == expected.height and history[1] > history[0]  # other payloads fill the other rows
    as_of_utc = pl.lit(as_of).dt.convert_time_zone("UTC")
    assert judged == expected.filter(pl.col("predicted_at") + window <= as_of_utc).height > 0
    assert quality[0] >= 2 and quality[1] == judged
    assert kpi_days == kpi_span and set(kpi_days) == set(truth["brand_id"].unique().to_list())
    meta = {e.materialization.asset_key: e.materialization.metadata for e in result.get_asset_materialization_events()}
    for brand, dau_mau, churn_rate in latest:
        kpis = meta[dg.AssetKey(["marts", "program_kpis"])]
        assert kpis[f"brand_{brand}/dau_mau"].value == pytest.approx(dau_mau)
        assert kpis[f"brand_{brand}/churn_rate"].value == pytest.approx(churn_rate)
        assert f"brand_{brand}/auc_roc" in meta[dg.AssetKey(["marts", "prediction_quality"])]
    (auc_check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "churn_auc_stable"]
    assert auc_check.passed and auc_check.metadata["degraded_brands"].value == "none"


def card_documents(data_dir) -> dict[int, str]:
    """Every member's card document as the build wrote it (the PWA's; the analysts' snapshot leaves them out)."""
    with duckdb.connect(str(data_dir.warehouse), read_only=True) as con:
        return dict(con.execute("SELECT user_id, document::VARCHAR FROM marts.member_card_documents").fetchall())


def check_cards_are_actionable(documents: list[dict]) -> None:
    """Every card leads to its brand's deep link with its target's ids, explains itself in words, and its progress
    says what a progress bar shows; texts count in the right number."""
    cards = [(d["brand_id"], c) for d in documents for c in d["cards"]]
    for brand_id, card in cards:
        action = card["action"]
        assert action["url"].startswith(f"https://app.example.com/b/{brand_id}/"), action
        assert all(str(value) in action["url"] for key, value in action["target"].items() if key != "product_id"), action
        assert all(reason["text"] for reason in card["explanation"]["reasons"])
        if progress := card["progress"]:
            assert progress["display_current"] == min(progress["current"], progress["target"])
            assert progress["percent"] == (100 * progress["display_current"]) // progress["target"]
        assert not re.search(r"(?<![\d.])1 (points|referrals|product scans)\b", card["title"] + " " + card["body"]), card
    passed = [c for _, c in cards if c["progress"] and c["progress"]["current"] > c["progress"]["target"]]
    assert passed and all(c["progress"]["percent"] == 100 for c in passed)
    assert {c["action"]["kind"] for _, c in cards} >= {"earn_points", "redeem_reward", "invite_friend"}


def action_log_partitions(result: dg.ExecuteInProcessResult) -> dict:
    return {e.materialization.partition: e.materialization.metadata for e in result.get_asset_materialization_events()
            if e.materialization.asset_key == dg.AssetKey(["raw", "app_action_logs"])}


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
    # Campaigns can use the cards' experiment split: every member carries their arm of each running experiment.
    assert all(set(p["attributes"]["experiments"]) == {"aa_check", "personalized_vs_generic", "retention_offer_holdout"}
               for p in sent_people.values())
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


def check_snapshot_holds_the_sync_outcome(data_dir) -> None:
    """After build and activation the analysts' snapshot has the sync's outcome as the sync state has it
    (delivered, nothing pending), and the README's query 8 runs in the analysts' client."""
    state = sqlite3.connect(f"file:{data_dir.activation / 'sync_state.sqlite'}?mode=ro", uri=True)
    try:
        recorded = state.execute("SELECT destination, brand_id, kind, status, items FROM status_counts").fetchall()
    finally:
        state.close()
    with duckdb.connect(str(data_dir.analytics), read_only=True) as con:
        published = con.execute("SELECT destination, brand_id, kind, status, items FROM activation.sync_status").fetchall()
    assert {status for *_, status, _ in recorded} >= {"delivered"}
    assert sorted(published) == sorted(recorded)  # nothing pending, no dead letter from queueing either

    readme = (PROJECT_ROOT / "README.md").read_text()
    query = re.search(r"^-- 8\..*?(?=^-- \d+\.|^```)", readme, re.S | re.M).group(0)
    client = Path(sys.executable).with_name("duckdb")
    result = subprocess.run([client, "-readonly", "-csv", str(data_dir.analytics), "-c", query],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "destination,kind,status,items,oldest_available_at" in result.stdout
    assert ",delivered," in result.stdout and ",pending," not in result.stdout


def check_snapshot_comments_are_the_dbt_descriptions(data_dir, manifest_path) -> None:
    """Every mart table (the snapshot holds no views, nor the PWA's card documents) and each of its columns
    described in the dbt YAML carries that description as its comment in the snapshot."""
    from assets.analytics_snapshot import NOT_FOR_ANALYSTS

    manifest = json.loads(manifest_path.read_text())
    marts = [n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["schema"] == "marts" and n["config"]["materialized"] != "view"
             and f"marts.{n['name']}" not in NOT_FOR_ANALYSTS]
    with duckdb.connect(str(data_dir.analytics), read_only=True) as con:
        tables = dict(con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall())
        columns = {(t, c): comment for t, c, comment in con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'").fetchall()}
    assert tables == {n["name"]: n["description"] for n in marts}
    described = {(n["name"], c): spec["description"] for n in marts for c, spec in n["columns"].items() if spec["description"]}
    assert len(described) > 100 and {k: columns.get(k) for k in described} == described


def embedded(html: str, name: str) -> dict:
    """The JSON document dbt's static site carries inline as `name:{...}`."""
    start = html.index(f'{name}:{{"metadata"') + len(name) + 1
    return json.JSONDecoder().raw_decode(html, start)[0]


def check_docs_site_stands_alone(data_dir) -> None:
    """data/docs/index.html carries the manifest and the catalog inside (nothing to fetch, no warehouse):
    a mart's columns with the types the snapshot has."""
    html = (data_dir.docs / "index.html").read_text()
    assert "INLINE DATA" not in html  # dbt's placeholders were replaced by the documents
    manifest, catalog = embedded(html, "manifest"), embedded(html, "catalog")
    with duckdb.connect(str(data_dir.analytics), read_only=True) as con:
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                 "WHERE schema_name = 'marts' AND table_name = 'profiles'").fetchall())
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'profiles'").fetchone()[0]
    documented = catalog["nodes"]["model.synergy.profiles"]["columns"]
    assert {c["name"]: c["type"] for c in documented.values()} == types
    assert manifest["nodes"]["model.synergy.profiles"]["description"] == comment
    assert not any(p.name.startswith(".") for p in data_dir.docs.iterdir())  # dbt's artifacts went with it
