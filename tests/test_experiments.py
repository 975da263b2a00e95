"""Experiments and card performance on generated data: a build publishes cards with their arms, the generator's
next day plays the PWA on exactly those cards with known click and conversion rates per card type, and the
marts built on it must find the injected effects (and no effect where none was injected).

Uses the builds fixture (tests/conftest.py): the landing zone built, a day appended, built again.
"""

from __future__ import annotations

import hashlib
import json
import math

import duckdb
import polars as pl
import pytest
from scipy.stats import binomtest, chi2_contingency
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, samplesize_proportions_2indep_onetail
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from sample_data.card_feedback import published_cards
from tests.readme_queries import readme_sql_statements

# Builds the whole pipeline: deselected by the quick run (scripts/test -m "not slow").
pytestmark = pytest.mark.slow


def frame(paths, sql: str, database: str = "analytics") -> pl.DataFrame:
    with duckdb.connect(str(getattr(paths, database)), read_only=True) as con:
        return pl.from_arrow(con.sql(sql).to_arrow_table())


def test_assignment_is_the_documented_hash_split_by_traffic_and_independent_between_experiments(builds):
    incremental, _, _ = builds
    assigned = frame(incremental, "SELECT * FROM marts.experiment_assignments")
    members = frame(incremental, "SELECT count(*) AS n FROM marts.member_features")["n"][0]
    experiments = frame(incremental, "SELECT DISTINCT experiment_key FROM marts.experiment_assignments").height
    assert assigned.height == members * experiments == assigned.select("profile_id", "experiment_key").n_unique()
    # Anyone can recompute the bucket from the experiment key and the profile id (docs/experiments.md).
    recomputed = [int(hashlib.md5(f"{k}:{p}".encode()).hexdigest()[:8], 16) % 10_000
                  for k, p in zip(assigned["experiment_key"], assigned["profile_id"])]
    assert assigned["bucket"].to_list() == recomputed
    # The 20% generic control holds about 20% of the members (a binomial test at 0.1%).
    split = assigned.filter(pl.col("experiment_key") == "personalized_vs_generic")
    generic = int((split["arm"] == "generic").sum())
    assert binomtest(generic, split.height, 0.2).pvalue > 0.001
    # Arms of two experiments are independent: a member's arm in one says nothing about the other.
    wide = assigned.pivot(on="experiment_key", index="profile_id", values="arm")
    table = wide.group_by("personalized_vs_generic", "retention_offer_holdout").len().pivot(
        on="retention_offer_holdout", index="personalized_vs_generic", values="len").drop("personalized_vs_generic")
    assert chi2_contingency(table.to_numpy()).pvalue > 0.001


def test_control_arms_change_the_cards_and_every_channel_carries_the_arm(builds):
    incremental, _, _ = builds
    cards = frame(incremental, """
        SELECT c.card_type, a.arm, r.arm AS retention_arm FROM marts.member_cards AS c
        JOIN marts.experiment_assignments AS a ON a.profile_id = c.profile_id AND a.experiment_key = 'personalized_vs_generic'
        JOIN marts.experiment_assignments AS r ON r.profile_id = c.profile_id AND r.experiment_key = 'retention_offer_holdout'""")
    generic = cards.filter(pl.col("arm") == "generic")
    assert generic.height > 0 and set(generic["card_type"]) == {"explore_rewards"}
    assert len(set(cards.filter(pl.col("arm") == "personalized")["card_type"])) >= 5
    assert cards.filter((pl.col("retention_arm") == "holdout") & (pl.col("card_type") == "retention_offer")).height == 0
    # The document and the Customer.io attributes carry the same arms as the mart (the documents are the PWA's,
    # in the warehouse only).
    arms = frame(incremental, """
        SELECT a.user_id, a.experiment_key, a.arm, d.document, p.attributes
        FROM marts.experiment_assignments AS a
        JOIN marts.member_card_documents AS d USING (profile_id)
        JOIN marts.customerio_people AS p ON p.brand_id = a.brand_id AND p.user_id = a.user_id""", "warehouse")
    assert arms.height > 0
    for key, arm, document, attributes in arms.select("experiment_key", "arm", "document", "attributes").iter_rows():
        assert {"key": key, "arm": arm} in json.loads(document)["experiments"]
        assert json.loads(attributes)["experiments"][key] == arm


def test_the_appended_days_feedback_is_about_the_published_cards(builds):
    incremental, _, seen = builds
    day = seen["appended"]["day"]
    # The feedback model is the pipeline's own (not in the analysts' snapshot): read it from the warehouse.
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        logged = pl.from_arrow(con.sql(f"""
            SELECT f.event_id, x.key, x.arm, a.arm AS assigned_arm
            FROM intermediate.int_cards__feedback AS f, unnest(f.experiments) AS t(x)
            JOIN marts.experiment_assignments AS a ON a.profile_id = f.profile_id AND a.experiment_key = x.key
            WHERE f.action_type = 'card_impression' AND CAST(f.occurred_at AS DATE) = DATE '{day}'""").to_arrow_table())
    impressions = logged["event_id"].n_unique()
    # Within a handful (a malformed line, an erased member), every impression generated is one in the warehouse.
    assert 0 <= seen["appended"]["card_impressions"] - impressions <= 0.01 * impressions
    # The arm a card was shown in is the arm the member is assigned: the assignment is stable across builds.
    assert (logged["arm"] == logged["assigned_arm"]).mean() > 0.99


def test_the_generator_reads_the_published_documents_cards_from_the_analysts_snapshot(builds):
    """The snapshot leaves the card documents out; what the generator's PWA shows comes from the marts they are
    made of, and is each document's cards with its arms, as the document writes them."""
    incremental, _, _ = builds
    assert frame(incremental, "SELECT * FROM duckdb_tables() WHERE table_name = 'member_card_documents'").height == 0
    in_documents = frame(incremental, """
        SELECT d.brand_id, d.user_id, c ->> 'id' AS card_id, c ->> 'type' AS card_type,
            CAST(c ->> 'position' AS INTEGER) AS position, CAST(c ->> 'dismissible' AS BOOLEAN) AS dismissible,
            CAST(d.document -> 'experiments' AS VARCHAR) AS experiments
        FROM marts.member_card_documents AS d, unnest(CAST(d.document -> 'cards' AS JSON[])) AS t(c)
        ORDER BY d.brand_id, d.user_id, position""", "warehouse")
    published = published_cards(incremental.analytics)
    assert in_documents.height > 0 and in_documents["experiments"].str.contains('"arm"').all()
    assert published.equals(in_documents)


def injected(incremental) -> pl.DataFrame:
    """The generator's true rates, pooled over card types: per brand, experiment and arm."""
    truth = pl.read_parquet(incremental.ground_truth / "card_feedback.parquet")
    return truth.group_by("brand_id", "experiment_key", "arm").agg(
        ctr=pl.col("click_probability_sum").sum() / pl.col("impressions").sum(),
        conversion_rate=pl.col("conversion_probability_sum").sum() / pl.col("impressions").sum())


def results(incremental) -> pl.DataFrame:
    return frame(incremental, "SELECT * FROM marts.experiment_results WHERE card_type = 'all'")


def true_uplift(truth: pl.DataFrame, row: dict) -> float:
    rate = lambda arm: truth.filter((pl.col("brand_id") == row["brand_id"]) & (pl.col("experiment_key") == row["experiment_key"])  # noqa: E731
                                    & (pl.col("arm") == arm))[row["metric"]].item()
    return rate(row["arm"]) - rate(row["control_arm"])


def test_the_injected_uplift_of_personalized_cards_lies_in_its_interval(builds):
    incremental, _, _ = builds
    truth = injected(incremental)
    rows = results(incremental).filter(pl.col("experiment_key") == "personalized_vs_generic").to_dicts()
    assert len(rows) == 4  # two brands, ctr and conversion_rate
    for row in rows:
        uplift = true_uplift(truth, row)
        assert uplift > 0.03, row  # what the generator injected: personalized cards are clicked and converted more
        assert row["uplift_lower"] <= uplift <= row["uplift_upper"], (uplift, row)
    # One day of data: the brand with the larger control arm shows the click-through effect as significant. A
    # smaller control arm (a few dozen impressions) may not: then the mart says how many impressions are still
    # needed rather than that there is no effect.
    ctr = sorted((r for r in rows if r["metric"] == "ctr"), key=lambda r: r["control_impressions"], reverse=True)
    assert ctr[0]["is_significant"], ctr[0]
    assert all(r["is_significant"] or r["control_impressions_still_needed"] > 0 for r in ctr), ctr


def test_a_zero_injected_effect_is_not_significant(builds):
    incremental, _, _ = builds
    truth = pl.read_parquet(incremental.ground_truth / "card_feedback.parquet")
    # The A/A experiment's arms get the same cards at the same rates: the injected effect per card type is nil.
    aa = truth.filter(pl.col("experiment_key") == "aa_check").with_columns(
        ctr=(pl.col("click_probability_sum") / pl.col("impressions")).round(9))
    assert aa.group_by("brand_id", "card_type").agg(pl.col("ctr").n_unique())["ctr"].max() == 1
    rows = results(incremental).filter(pl.col("experiment_key") == "aa_check").to_dicts()
    assert len(rows) == 4
    assert [r for r in rows if r["is_significant"] or not r["uplift_lower"] <= 0 <= r["uplift_upper"]] == []


def test_intervals_and_sample_sizes_are_statsmodels_figures(builds):
    incremental, _, _ = builds
    rows = frame(incremental, "SELECT * FROM marts.experiment_results").to_dicts()
    assert len(rows) >= 20
    for r in rows:
        lower, upper = confint_proportions_2indep(r["treatment_successes"], r["treatment_impressions"],
                                                  r["control_successes"], r["control_impressions"],
                                                  method="newcomb", compare="diff")
        assert (r["uplift_lower"], r["uplift_upper"]) == (pytest.approx(lower, abs=1e-6), pytest.approx(upper, abs=1e-6)), r
        p0 = r["control_rate"]
        p1 = min(p0 * (1 + r["min_detectable_uplift"]), 1)  # a rate cannot pass 1
        if 0 < p0 < 1:
            needed = samplesize_proportions_2indep_onetail(p1 - p0, p0, 0.8, ratio=1, alpha=0.05, alternative="two-sided")
            # The mart computes from the exact counts, the test from the rounded rate: at most one impression apart.
            assert abs(r["impressions_needed_per_arm"] - math.ceil(needed)) <= 1, r
            assert r["control_impressions_still_needed"] == max(r["impressions_needed_per_arm"] - r["control_impressions"], 0)
            assert r["treatment_impressions_still_needed"] == max(r["impressions_needed_per_arm"] - r["treatment_impressions"], 0)
        else:  # no rate to improve on: no size, and nothing can be said to be still needed
            assert (r["impressions_needed_per_arm"], r["treatment_impressions_still_needed"],
                    r["control_impressions_still_needed"]) == (None, None, None), r


def test_card_performance_adds_up_and_the_readme_queries_show_it(builds):
    incremental, _, seen = builds
    per_day = frame(incremental, f"""
        SELECT experiment_key, sum(impressions) AS impressions FROM marts.card_performance
        WHERE occurred_on = DATE '{seen["appended"]["day"]}' GROUP BY ALL""")
    # Every impression counts once in each experiment its document carried.
    assert per_day["impressions"].n_unique() == 1 and set(per_day["experiment_key"]) == {
        "aa_check", "personalized_vs_generic", "retention_offer_holdout"}
    # The README's experiment queries show something once impressions of published cards came in.
    # (The at-risk retention queries need judged predictions: tests/test_prediction_quality.py runs them.)
    ours = [s for s in readme_sql_statements()
            if any(m in s for m in ("experiment_", "card_performance")) and "at_risk_retention" not in s]
    assert len(ours) >= 3
    with duckdb.connect(str(incremental.analytics), read_only=True) as con:
        assert [s for s in ours if not con.execute(s).fetchall()] == []


def test_the_program_kpis_carry_the_recommendation_ctr_of_every_impression(builds):
    """Each impression of the appended day counts once in its brand's CTR, clicks over impressions."""
    incremental, _, _ = builds
    kpis = frame(incremental, """
        SELECT brand_id, sum(card_impressions) AS impressions, sum(card_clicks) AS clicks,
            max(recommendation_ctr) FILTER (WHERE card_impressions > 0) AS some_ctr
        FROM marts.program_kpis GROUP BY ALL ORDER BY brand_id""")
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        expected = con.execute("""SELECT brand_id, count(*), count(*) FILTER (WHERE clicked)
            FROM intermediate.int_cards__impression_outcomes GROUP BY ALL ORDER BY brand_id""").fetchall()
    assert [(r["brand_id"], r["impressions"], r["clicks"]) for r in kpis.to_dicts() if r["impressions"]] == expected
    assert all(0 < r["some_ctr"] <= 1 for r in kpis.to_dicts() if r["clicks"])


def test_only_arms_that_offer_retention_cards_show_them_to_at_risk_members(builds):
    """The appended day's impressions reach the at-risk members of the offer arm, never the holdout's, which
    withholds retention cards: what at_risk_retention_results rescales its effect by."""
    incremental, _, _ = builds
    shown = dict(frame(incremental, """
        SELECT arm, sum(shown_retention_card) AS shown FROM marts.at_risk_retention
        WHERE experiment_key = 'retention_offer_holdout' GROUP BY ALL""").iter_rows())
    assert shown["holdout"] == 0 and shown["offer"] > 0
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        (impressions,) = con.execute("""SELECT count(*) FROM intermediate.int_cards__feedback AS f
            JOIN marts.experiment_assignments AS a ON a.profile_id = f.profile_id AND a.experiment_key = 'retention_offer_holdout'
            WHERE f.card_type = 'retention_offer' AND f.action_type = 'card_impression' AND a.arm = 'holdout'""").fetchone()
    assert impressions == 0


def test_revenue_per_member_by_arm_is_statsmodels_welch_comparison(builds):
    """Every assigned member counts once, with their revenue over the experiment or nothing; the interval is
    statsmodels' Welch interval of the two means and the size its normal power solution."""
    incremental, _, _ = builds
    with duckdb.connect(str(incremental.warehouse), read_only=True) as con:
        revenue = pl.from_arrow(con.sql("""
            SELECT a.brand_id, a.experiment_key, a.arm, a.profile_id, coalesce(sum(d.revenue), 0)::DOUBLE AS revenue
            FROM marts.experiment_assignments AS a
            LEFT JOIN intermediate.int_kpis__member_days AS d
                ON d.profile_id = a.profile_id AND d.day >= a.starts_on AND d.day < a.ends_on
            GROUP BY ALL""").to_arrow_table())
    rows = frame(incremental, "SELECT * FROM marts.experiment_revenue").to_dicts()
    assert len(rows) == 2 * 3 and any(r["treatment_revenue"] > 0 for r in rows)
    for r in rows:
        arm = revenue.filter((pl.col("brand_id") == r["brand_id"]) & (pl.col("experiment_key") == r["experiment_key"]))
        treated = arm.filter(pl.col("arm") == r["arm"])["revenue"].to_numpy()
        control = arm.filter(pl.col("arm") == r["control_arm"])["revenue"].to_numpy()
        assert (r["treatment_members"], r["control_members"]) == (len(treated), len(control))
        assert len(treated) + len(control) == arm["profile_id"].n_unique()
        assert r["uplift"] == pytest.approx(treated.mean() - control.mean(), abs=1e-6)
        lower, upper = CompareMeans(DescrStatsW(treated), DescrStatsW(control)).zconfint_diff(usevar="unequal")
        assert (r["uplift_lower"], r["uplift_upper"]) == (pytest.approx(lower, abs=1e-6), pytest.approx(upper, abs=1e-6))
        effect = r["min_detectable_uplift"] * control.mean() / control.std(ddof=1)
        needed = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1)
        assert r["members_needed_per_arm"] == math.ceil(needed)
