"""The PWA the generator plays on published cards: every card shown on every visit, responses at the rates of the
card's type, conversions doing what the card asked."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from sample_data.card_feedback import CLICK_RATE, conversion_actions, feedback_events, true_rates

DAY = 86_400
START = 1_795_000_000 // DAY * DAY


def cards(members: int) -> pl.DataFrame:
    """Each member's document: a rank-up and a referral card in the treatment arm, the generic card in control."""
    rows = []
    for user in range(1, members + 1):
        arm = "generic" if user % 5 == 0 else "personalized"
        experiments = json.dumps([{"key": "personalized_vs_generic", "arm": arm}], separators=(",", ":"))
        types = ["explore_rewards"] if arm == "generic" else ["rank_up", "referral_prompt"]
        rows += [{"brand_id": 1, "user_id": user, "card_id": f"card_{user}_{t}", "card_type": t, "position": p,
                  "dismissible": t != "explore_rewards", "experiments": experiments} for p, t in enumerate(types, 1)]
    return pl.DataFrame(rows)


def test_every_visit_shows_every_card_and_responses_follow_the_type_rates():
    shown_cards = cards(20_000)
    events, shown = feedback_events(np.random.default_rng(3), shown_cards, START, START + DAY)
    impressions = events.filter(pl.col("action_type") == "card_impression")
    assert impressions.height == shown.height
    contexts = [json.loads(c) for c in impressions["card_context"]]
    assert {c["card_id"] for c in contexts} <= set(shown_cards["card_id"])
    assert all(c["experiments"][0]["key"] == "personalized_vs_generic" for c in contexts)
    # A member sees all their cards on a visit: as many impressions of each of a member's cards.
    per_card = shown.group_by("user_id", "card_id").len().group_by("user_id").agg(pl.col("len").n_unique())
    assert per_card["len"].max() == 1
    assert events["t"].is_between(START, START + DAY - 1).all()
    clicks = events.filter(pl.col("action_type") == "card_clicked")
    for card_type, rate in (("rank_up", CLICK_RATE["rank_up"]), ("explore_rewards", CLICK_RATE["explore_rewards"])):
        n = shown.filter(pl.col("card_type") == card_type).height
        k = sum(json.loads(c)["card_type"] == card_type for c in clicks["card_context"])
        assert k / n == pytest.approx(rate, abs=4 * (rate * (1 - rate) / n) ** 0.5)
    # Conversions are the actions the cards ask for (seeds/cards/card_conversions.csv), never card events.
    conversions = events.filter(~pl.col("action_type").str.starts_with("card_"))
    assert set(conversions["action_type"]) <= set(conversion_actions().values()) and conversions.height > 0
    assert conversions["card_context"].null_count() == conversions.height


def test_the_true_rates_are_per_arm_and_type():
    _, shown = feedback_events(np.random.default_rng(3), cards(2_000), START, START + DAY)
    rates = true_rates(shown, "2026-11-20").with_columns(ctr=pl.col("click_probability_sum") / pl.col("impressions"))
    assert set(rates["arm"]) == {"personalized", "generic"}
    assert rates.filter(pl.col("card_type") == "explore_rewards")["ctr"].item() == pytest.approx(CLICK_RATE["explore_rewards"])
    assert rates["impressions"].sum() == shown.height


def test_the_daily_visitor_share_sets_who_opens_the_app():
    shown_cards = cards(20_000)
    for share in (0.05, 0.6):
        _, shown = feedback_events(np.random.default_rng(4), shown_cards, START, START + DAY, visit_share=share)
        visitors = shown["user_id"].n_unique()
        assert visitors / 20_000 == pytest.approx(share, abs=4 * (share * (1 - share) / 20_000) ** 0.5)
