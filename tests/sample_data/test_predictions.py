"""The sample's churn predictions: who is scored, how outcomes are judged, and the AUC they are drawn with."""

import numpy as np
import polars as pl
import pytest

from sample_data.predictions import DAY, ChurnModel, churn_predictions, scoring_runs

AS_OF = 1_780_000_000 // DAY * DAY  # a midnight UTC
START = AS_OF - 120 * DAY


def population(n: int, rng: np.random.Generator) -> tuple[pl.DataFrame, pl.DataFrame]:
    """n members who joined before or during the window; each acts a few times until a random last day."""
    created = START + rng.integers(-100 * DAY, 100 * DAY, n)
    members = pl.DataFrame({"user_id": np.arange(1, n + 1), "brand_id": 1 + np.arange(n) % 2, "created_at": created})
    actions = rng.poisson(8, n)
    member = np.repeat(np.arange(n), actions)
    first = np.maximum(created, START)[member]
    last = np.maximum(created, START)[member] + rng.integers(1, 120 * DAY, n)[member]
    t = first + (rng.random(len(member)) * np.maximum(np.minimum(last, AS_OF) - first, 1)).astype(np.int64)
    return members, pl.DataFrame({"user_id": member + 1, "t": t})


def test_runs_are_weekly_at_noon_before_the_as_of_day():
    runs = scoring_runs(START, AS_OF, 7)
    assert runs[-1] == AS_OF - DAY + 12 * 3600 and set(np.diff(runs)) == {7 * DAY} and runs[0] > START + DAY


def test_only_joined_members_are_scored_and_outcomes_follow_their_next_action():
    rng = np.random.default_rng(1)
    members, activity = population(3_000, rng)
    scored, _ = churn_predictions(rng, members, activity, START, AS_OF, ChurnModel(window_days=30))
    joined = scored.join(members, on=["user_id", "brand_id"])
    assert (joined["created_at"] < joined["t"]).all() and scored.height > 3_000
    judged = scored.filter("judged")
    assert ((judged["t"] + 30 * DAY) < AS_OF).all() and 0 < judged["churned"].mean() < 1
    # Churned exactly when no action came within the window (the next action is the first strictly after t).
    gap = (judged["next_t"] - judged["t"]).fill_null(10**9)
    assert (judged["churned"] == (gap > 30 * DAY)).all() and (gap > 0).all()


@pytest.mark.parametrize("auc", [0.6, 0.85, 0.95])
def test_the_sample_reaches_the_injected_auc(auc):
    rng = np.random.default_rng(2)
    members, activity = population(20_000, rng)
    model = ChurnModel(window_days=30, share=0.5, auc=auc, degraded_auc=0.5, degraded_runs=1)
    _, runs = churn_predictions(rng, members, activity, START, AS_OF, model)
    healthy = [r for r in runs if r["injected_auc"] == auc]
    degraded = [r for r in runs if r["injected_auc"] == 0.5]
    # Only the last judged run is degraded, for every brand.
    assert {r["prediction_date"] for r in degraded} == {max(r["prediction_date"] for r in runs)} and len(degraded) == 2
    weights = np.array([r["predictions"] for r in healthy])
    assert np.average([r["sample_auc"] for r in healthy], weights=weights) == pytest.approx(auc, abs=0.01)
    assert np.mean([r["sample_auc"] for r in degraded]) == pytest.approx(0.5, abs=0.03)
