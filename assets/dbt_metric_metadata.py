"""Numeric metadata on the materializations of the metric marts, per brand, so the Dagster UI plots each
metric over the builds (the asset's Plots tab): the program KPIs of each brand's latest day, the churn
model's quality on its latest judged prediction date."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from assets.dbt_row_counts import model_node
from ingestion.warehouse import connect

# model -> (date column, metric columns): each brand's row of its latest date where the first metric has a
# value is reported (a prediction date whose predictions were all of one class has no AUC).
METRICS = {
    "program_kpis": ("day", ("dau_mau", "redemption_rate", "churn_rate", "revenue_per_member", "members",
                             "daily_active", "monthly_active", "recommendation_ctr")),
    "prediction_quality": ("prediction_date", ("auc_roc", "precision_at_high", "recall_at_high", "brier_score",
                                               "predictions")),
}


def with_metric_metadata(events: Iterable, manifest: Mapping[str, Any], warehouse: Path) -> Iterator:
    """The events, the metric marts' materializations with `brand_<id>/<metric>` values. Call it on events
    yielded after dbt finished (with_row_counts holds them back until then): it reads the warehouse."""
    for event in events:
        node = model_node(manifest, event)
        if node is not None and node["name"] in METRICS:
            event = event.with_metadata({**event.metadata, **latest_metrics(warehouse, node["relation_name"],
                                                                             *METRICS[node["name"]])})
        yield event


def latest_metrics(warehouse: Path, relation: str, date_column: str, columns: Iterable[str]) -> dict[str, float]:
    columns = list(columns)
    con = connect(warehouse, read_only=True)
    try:
        rows = con.execute(f"""select brand_id, {', '.join(columns)} from {relation}
            where {columns[0]} is not null
            qualify row_number() over (partition by brand_id order by {date_column} desc) = 1""").fetchall()
    finally:
        con.close()
    return {f"brand_{row[0]}/{name}": float(value) for row in rows for name, value in zip(columns, row[1:])
            if value is not None}
