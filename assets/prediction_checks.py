"""The churn model's degradation alarm (NFR9) on the prediction quality mart; the comparison is
monitoring/prediction_quality.py."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets.dbt_models import synergy_dbt_models
from monitoring.prediction_quality import latest_auc_against_trailing
from orchestration.resources import WarehouseResource

PREDICTION_QUALITY = get_asset_key_for_model([synergy_dbt_models], "prediction_quality")


class AucDropConfig(dg.Config):
    max_drop: float = 0.05  # NFR9: more than a 5% drop against the trailing average warns
    trailing_dates: int = 4  # judged prediction dates before the latest that make the average


@dg.asset_check(asset=PREDICTION_QUALITY, name="churn_auc_stable", blocking=False,
                description="Each brand's churn-prediction AUC-ROC on its latest judged prediction date has not dropped "
                            "more than 5% against its average over the dates before (NFR9).")
def churn_auc_stable(config: AucDropConfig, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        history = con.execute("select brand_id, prediction_date, auc_roc from marts.prediction_quality").fetchall()
    comparisons = latest_auc_against_trailing(history, config.trailing_dates, config.max_drop)
    degraded = [c for c in comparisons if c.degraded]
    metadata: dict = {"max_drop": config.max_drop, "trailing_dates": config.trailing_dates,
                      "degraded_brands": ", ".join(str(c.brand_id) for c in degraded) or "none"}
    for c in comparisons:
        metadata[f"brand_{c.brand_id}/latest_date"] = c.prediction_date.isoformat()
        metadata[f"brand_{c.brand_id}/auc_roc"] = c.auc
        if c.trailing_auc is not None:
            metadata[f"brand_{c.brand_id}/trailing_auc_roc"] = c.trailing_auc
            metadata[f"brand_{c.brand_id}/relative_drop"] = c.relative_drop
    if not comparisons:
        metadata["judged_dates"] = "none yet (no churn prediction is old enough to be judged)"
    return dg.AssetCheckResult(passed=not degraded, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)
