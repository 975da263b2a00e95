"""Feedback on the cards members were actually shown, with a known effect per card type.

An appended day reads the cards the last build published (the analysts' snapshot holds what the documents
are made of: `marts.member_cards` and the active `marts.experiment_assignments`) and plays the PWA:
members open the app, see their cards (one `card_impression` per card and visit, logging the card's id,
type and the document's experiment arms), click some (`CLICK_RATE` of the card type), dismiss some, and
after a click some do what the card asked (`CONVERSION_AFTER_CLICK`, the action of
`seeds/cards/card_conversions.csv`). A card's
rates depend on its type only, so an arm's effect is what its cards are: the generic arm's fallback
card is clicked less, and a holdout arm changes nothing for the types it still shows (a zero effect).
The true rates of every impression go to ground_truth/card_feedback.parquet.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from ingestion.paths import PROJECT_ROOT

CLICK_RATE = {"wishlist_goal": 0.30, "reward_offer": 0.22, "rank_up": 0.12, "near_complete_achievement": 0.25,
              "referral_prompt": 0.10, "retention_offer": 0.20, "high_value_exclusive": 0.18,
              "product_discovery": 0.15, "explore_rewards": 0.06}
CONVERSION_AFTER_CLICK = {"wishlist_goal": 0.40, "reward_offer": 0.35, "rank_up": 0.30, "near_complete_achievement": 0.30,
                          "referral_prompt": 0.25, "retention_offer": 0.45, "high_value_exclusive": 0.20,
                          "product_discovery": 0.30, "explore_rewards": 0.20}
DISMISS_RATE = 0.04  # of the impressions not clicked, of dismissible cards
# Of the members with cards, the share who open the app on a day. Dense by default, so that a small sample
# reads out its experiments after one day; a loyalty program's real daily share is nearer 0.05 (the pipeline
# benchmark's appended day uses that, `--daily-visitors`).
VISIT_SHARE = 0.6
EXTRA_VISITS = 1.0  # mean visits after the first (Poisson)
CONVERSIONS_SEED = PROJECT_ROOT / "dbt_project" / "seeds" / "cards" / "card_conversions.csv"


def published_cards(analytics: Path) -> pl.DataFrame | None:
    """Every card of every published document (brand, user, card id, type, position, the document's arms, as the
    document writes them: a JSON list of key and arm, in key order)."""
    if not analytics.exists():
        return None
    with duckdb.connect(str(analytics), read_only=True) as con:
        return pl.from_arrow(con.sql("""
            SELECT c.brand_id, c.user_id, c.card_id, c.card_type, c.position, c.dismissible,
                coalesce(a.experiments, '[]') AS experiments
            FROM marts.member_cards AS c
            LEFT JOIN (SELECT profile_id,
                           CAST(to_json(list({'key': experiment_key, 'arm': arm} ORDER BY experiment_key)) AS VARCHAR) AS experiments
                       FROM marts.experiment_assignments WHERE is_active GROUP BY profile_id) AS a USING (profile_id)
            ORDER BY c.brand_id, c.user_id, c.position""").to_arrow_table())


def conversion_actions() -> dict[str, str]:
    with CONVERSIONS_SEED.open() as f:
        return {row["card_type"]: row["conversion_action"] for row in csv.DictReader(f)}


def feedback_events(rng: np.random.Generator, cards: pl.DataFrame, start: int, end: int,
                    visit_share: float = VISIT_SHARE) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(events: user_id, brand_id, t, action_type, card_context; impressions with their true rates)."""
    members = cards.select("brand_id", "user_id").unique(maintain_order=True)
    visiting = members.filter(pl.Series(rng.random(members.height) < visit_share))
    visits = 1 + rng.poisson(EXTRA_VISITS, visiting.height)
    # Visits leave four hours before the day ends, so a click's conversion still falls on the day.
    seen = visiting.select(pl.col("user_id").repeat_by(pl.Series(visits)).explode()).with_columns(
        visit_at=pl.Series(rng.integers(start, end - 4 * 3600, int(visits.sum()))))
    shown = seen.join(cards, on="user_id").sort("user_id", "visit_at", "position")
    n = shown.height
    click_p = shown["card_type"].replace_strict(CLICK_RATE, return_dtype=pl.Float64).to_numpy()
    convert_p = shown["card_type"].replace_strict(CONVERSION_AFTER_CLICK, return_dtype=pl.Float64).to_numpy()
    clicked = rng.random(n) < click_p
    dismissed = ~clicked & shown["dismissible"].to_numpy() & (rng.random(n) < DISMISS_RATE)
    converted = clicked & (rng.random(n) < convert_p)
    response_at = rng.integers(5, 600, n)
    convert_at = response_at + rng.integers(60, 3600, n)
    shown = shown.with_columns(
        t=pl.col("visit_at") + pl.col("position"),
        card_context=pl.format('{{"card_id":"{}","card_type":"{}","surface":"home","experiments":{}}}',
                               "card_id", "card_type", "experiments"),
        conversion_action=pl.col("card_type").replace_strict(conversion_actions()),
        click_probability=pl.Series(click_p), conversion_probability=pl.Series(click_p * convert_p))
    base = ["user_id", "brand_id", "t", "action_type", "card_context"]
    events = pl.concat([
        shown.with_columns(action_type=pl.lit("card_impression")).select(base),
        shown.filter(pl.Series(clicked)).with_columns(
            t=pl.col("t") + pl.Series(response_at[clicked]), action_type=pl.lit("card_clicked")).select(base),
        shown.filter(pl.Series(dismissed)).with_columns(
            t=pl.col("t") + pl.Series(response_at[dismissed]), action_type=pl.lit("card_dismissed")).select(base),
        shown.filter(pl.Series(converted)).with_columns(
            t=pl.col("t") + pl.Series(convert_at[converted]), action_type=pl.col("conversion_action"),
            card_context=pl.lit(None, pl.String)).select(base),
    ])
    return events, shown


def true_rates(shown: pl.DataFrame, day: str) -> pl.DataFrame:
    """Per brand, experiment, arm and card type: the impressions and the sums of their true click and
    conversion probabilities (a rate is sum / impressions; pooled over types, the sums add up)."""
    arms = shown.with_columns(arm=pl.col("experiments").str.json_decode(
        pl.List(pl.Struct({"key": pl.String, "arm": pl.String})))).explode("arm").unnest("arm")
    return arms.group_by("brand_id", pl.col("key").alias("experiment_key"), "arm", "card_type").agg(
        impressions=pl.len(), click_probability_sum=pl.col("click_probability").sum(),
        conversion_probability_sum=pl.col("conversion_probability").sum(),
    ).with_columns(day=pl.lit(day)).sort("brand_id", "experiment_key", "arm", "card_type")
