"""Numeric metadata on the materializations of the metric marts, per brand, so the Dagster UI plots each
metric over the builds (the asset's Plots tab): the program KPIs of each brand's latest day, the churn
model's quality on its latest judged prediction date, each experiment's effect on at-risk members' retention and
on revenue per member."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from assets.dbt_row_counts import Reader, model_node


@dataclass(frozen=True)
class MetricMart:
    """Each brand's (and key's) row of its latest date where the first metric has a value is reported (a
    prediction date whose predictions were all of one class has no AUC), as `brand_<id>[/<key>...]/<metric>`."""
    date_column: str | None  # None: the mart holds one row per brand and key
    metrics: tuple[str, ...]
    keys: tuple[str, ...] = ()  # one series per value of these, besides the brand


METRICS = {
    "program_kpis": MetricMart("day", ("dau_mau", "redemption_rate", "churn_rate", "revenue_per_member", "members",
                                       "daily_active", "monthly_active", "recommendation_ctr")),
    "prediction_quality": MetricMart("prediction_date", ("auc_roc", "precision_at_high", "recall_at_high",
                                                         "brier_score", "predictions")),
    "at_risk_retention_results": MetricMart(
        "through_cohort_date", ("uplift", "uplift_lower", "uplift_upper", "treatment_retention_rate",
                                "control_retention_rate", "treatment_members", "control_members"),
        keys=("experiment_key", "arm")),
    "experiment_revenue": MetricMart(
        None, ("relative_uplift", "uplift", "uplift_lower", "uplift_upper", "treatment_revenue_per_member",
               "control_revenue_per_member"), keys=("experiment_key", "arm")),
}


def with_metric_metadata(events: Iterable, manifest: Mapping[str, Any], read: Reader) -> Iterator:
    """The events, the metric marts' materializations with their metric values. Call it on events yielded after
    dbt finished (with_row_counts holds them back until then): it reads the warehouse."""
    for event in events:
        node = model_node(manifest, event)
        if node is not None and node["name"] in METRICS:
            event = event.with_metadata({**event.metadata,
                                         **latest_metrics(read, node["relation_name"], METRICS[node["name"]])})
        yield event


def latest_metrics(read: Reader, relation: str, mart: MetricMart) -> dict[str, float]:
    series = ("brand_id", *mart.keys)
    latest = f" order by {mart.date_column} desc" if mart.date_column else ""
    with read() as con:
        rows = con.execute(f"""select {', '.join(series)}, {', '.join(mart.metrics)} from {relation}
            where {mart.metrics[0]} is not null
            qualify row_number() over (partition by {', '.join(series)}{latest}) = 1""").fetchall()
    return {"/".join((f"brand_{row[0]}", *map(str, row[1:len(series)]), name)): float(value)
            for row in rows for name, value in zip(mart.metrics, row[len(series):]) if value is not None}
