"""Customer.io prediction payloads whose churn probabilities bear a known relation to what members did next.

Customer.io scores members in runs, every `every_days` days at noon UTC, each run a random share of the
members who had joined. A churn prediction made at time t comes true when the member's next action after t
is more than `window_days` later (or never comes): the seeds' churn, inactive for that many days. Where the
landing zone shows the whole window (t + window_days before the as-of time) the outcome is known here
exactly as the warehouse will find it, and the probability is drawn from the equal-variance binormal model
with the run's target AUC A: a latent score N(d * churned, 1) with d = sqrt(2) * Phi^-1(A) separates churners
from stayers with AUC A, and a logistic of it is the probability. The last `degraded_runs` judged runs use
`degraded_auc` instead, a model that got worse. Judged runs' targets and the AUC each brand's sample actually
reached are the ground truth (`churn_prediction_runs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from statistics import NormalDist

import numpy as np
import polars as pl

DAY = 86_400
NOON = 12 * 3600


@dataclass(frozen=True)
class ChurnModel:
    every_days: int = 7  # days between Customer.io's scoring runs
    share: float = 0.3  # share of the members who had joined that a run scores
    window_days: int = 90  # the churn definition's inactivity, as the warehouse's var churn_inactive_days
    auc: float = 0.85  # the model's separation on the judged runs
    degraded_auc: float = 0.70  # ... on the last degraded_runs judged runs
    degraded_runs: int = 0


def scoring_runs(window_start: int, as_of: int, every_days: int) -> np.ndarray:
    """Run times, oldest first: noon UTC of the day before the as-of date and every `every_days` days back."""
    last = as_of - DAY + NOON
    return np.arange(last, window_start + DAY, -every_days * DAY)[::-1]


def churn_predictions(rng: np.random.Generator, members: pl.DataFrame, activity: pl.DataFrame, window_start: int,
                      as_of: int, model: ChurnModel) -> tuple[pl.DataFrame, list[dict]]:
    """One row per scored member and run (user_id, brand_id, t: received, churn_probability, judged, churned),
    and the ground truth of each judged run and brand. `activity` holds every member action (user_id, t)."""
    runs = scoring_runs(window_start, as_of, model.every_days)
    joined = members["created_at"].to_numpy()
    picked = (rng.random((len(runs), members.height)) < model.share) & (joined[None, :] < runs[:, None])
    run_idx, member_idx = np.nonzero(picked)
    # t is when the webhook arrives, within the hour after the run: the warehouse's prediction time.
    received = runs[run_idx] + rng.integers(1, 3600, len(run_idx))
    scored = pl.DataFrame({"user_id": members["user_id"].to_numpy()[member_idx],
                           "brand_id": members["brand_id"].to_numpy()[member_idx],
                           "t": received, "run": run_idx}).sort("t", "user_id")
    # The member's next action after the prediction, as the warehouse finds it (ASOF, strictly later).
    actions = activity.select("user_id", pl.col("t").alias("next_t")).sort("next_t")
    scored = scored.join_asof(actions, left_on="t", right_on="next_t", by="user_id", strategy="forward",
                              allow_exact_matches=False, check_sortedness=False)
    horizon = pl.col("t") + model.window_days * DAY
    scored = scored.with_columns(judged=horizon < as_of).with_columns(
        churned=pl.col("next_t").is_null() | (pl.col("next_t") > pl.min_horizontal(horizon, pl.lit(as_of))))

    judged_runs = np.flatnonzero(runs + model.window_days * DAY < as_of)
    degraded = set(judged_runs[len(judged_runs) - model.degraded_runs:].tolist()) if model.degraded_runs else set()
    target = np.asarray([model.degraded_auc if r in degraded else model.auc for r in range(len(runs))])
    separation = math.sqrt(2) * np.asarray([NormalDist().inv_cdf(a) for a in target])
    d = separation[scored["run"].to_numpy()]
    latent = rng.normal(size=scored.height) + d * scored["churned"].to_numpy()
    # Centred between the two classes, so the probabilities spread over the whole range.
    probability = np.clip(np.round(1 / (1 + np.exp(-1.2 * (latent - d / 2))), 4), 0.0001, 0.9999)
    scored = scored.with_columns(churn_probability=pl.Series(probability),
                                 injected_auc=pl.Series(target[scored["run"].to_numpy()]))
    return scored, _ground_truth(scored.filter("judged"))


def _ground_truth(judged: pl.DataFrame) -> list[dict]:
    """Per run and brand: the target AUC, and the AUC the sample reached (rank-sum, ties at their average rank)."""
    ranked = judged.with_columns(rank=pl.col("churn_probability").rank("average").over("run", "brand_id"))
    summary = ranked.group_by("run", "brand_id").agg(
        pl.col("t").first(), pl.col("injected_auc").first(), pl.len().alias("predictions"),
        pl.col("churned").sum().alias("churned"), pl.col("rank").filter("churned").sum().alias("churned_rank_sum"),
    ).with_columns(stayed=pl.col("predictions") - pl.col("churned")).sort("t", "brand_id")
    rows = []
    for r in summary.iter_rows(named=True):
        c, s = r["churned"], r["stayed"]
        rows.append({"brand_id": int(r["brand_id"]),
                     "prediction_date": datetime.fromtimestamp(int(r["t"]), UTC).date().isoformat(),
                     "predictions": int(r["predictions"]), "churned": int(c), "injected_auc": float(r["injected_auc"]),
                     "sample_auc": round((r["churned_rank_sum"] - c * (c + 1) / 2) / (c * s), 6) if c and s else None})
    return rows


def with_other_scores(scored: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """The engagement score and predicted LTV a churn payload carries with its probability."""
    n = scored.height
    return scored.with_columns(engagement_score=pl.Series(np.round(rng.beta(3, 3, n), 4)),
                               predicted_ltv=pl.Series(np.round(rng.lognormal(5, 0.8, n), 2)))


def latest_scores(scored: pl.DataFrame) -> pl.DataFrame:
    """Each scored member's latest churn probability and predicted LTV: the attributes Customer.io holds, which
    a people export carries."""
    return scored.sort("t").group_by("user_id").agg(pl.col("churn_probability", "predicted_ltv").last())


def churn_bodies(scored: pl.DataFrame) -> pl.DataFrame:
    """Webhook rows (received_at, kind, body) of the churn predictions (scored with_other_scores)."""
    high = pl.col("churn_probability") >= 0.6
    return scored.select(
        pl.from_epoch("t", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("received_at"),
        pl.lit("prediction").alias("kind"),
        pl.struct("user_id", pl.struct(
            "churn_probability", "engagement_score", "predicted_ltv",
            pl.when(high).then(pl.lit("high_risk")).otherwise(pl.lit("engaged")).alias("recommended_segment"),
            pl.when(high).then(pl.lit("send_retention_offer")).otherwise(pl.lit("send_personalized_offer"))
            .alias("next_best_action")).alias("predictions")).struct.json_encode().alias("body"))


def other_bodies(rng: np.random.Generator, members: pl.DataFrame, as_of: int) -> pl.DataFrame:
    """Product-affinity and purchase-intent predictions: half the members get one or two in the last two weeks."""
    chosen = members.filter(pl.Series(rng.random(members.height) < 0.5))
    counts = rng.integers(1, 3, chosen.height)
    user_id = np.repeat(chosen["user_id"].to_numpy(), counts)
    n = len(user_id)
    received = as_of - rng.integers(60, 14 * DAY, n) + rng.integers(1, 30, n)
    keys = ("concentrates", "vapes", "flower", "edibles")
    frame = pl.DataFrame({"user_id": user_id, "received": np.minimum(received, as_of - 1), "affinity": rng.random(n) < 0.5,
                          **{k: np.round(rng.random(n), 2) for k in keys},
                          "purchase_probability": np.round(rng.random(n), 4),
                          "predicted_purchase_value": np.round(rng.lognormal(4, 0.5, n), 2)})
    affinity = pl.struct(pl.struct(*keys).alias("product_affinity_scores"),
                         pl.lit("concentrate_lover").alias("recommended_segment"),
                         pl.lit("feature_concentrate_products").alias("next_best_action"))
    intent = pl.struct("purchase_probability", "predicted_purchase_value",
                       pl.lit("high_intent_buyer").alias("recommended_segment"),
                       pl.lit("send_personalized_offer").alias("next_best_action"))
    return pl.concat([
        frame.filter(kind).select(
            pl.from_epoch("received", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("received_at"),
            pl.lit("prediction").alias("kind"),
            pl.struct("user_id", payload.alias("predictions")).struct.json_encode().alias("body"))
        for kind, payload in ((pl.col("affinity"), affinity), (~pl.col("affinity"), intent))])
