"""Checks on the feature marts: distribution drift between builds and prediction freshness."""


from datetime import UTC, datetime

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from assets.dbt_models import synergy_dbt_models
from monitoring.drift import population_stability_index
from orchestration.resources import WarehouseResource

MEMBER_FEATURES = get_asset_key_for_model([synergy_dbt_models], "member_features")
PROFILE_PREDICTIONS = get_asset_key_for_model([synergy_dbt_models], "profile_predictions")

# Key features and how each is bucketed; categorical scores are their own buckets.
DRIFT_BUCKETS = {
    "r_score": "cast(r_score as varchar)",
    "f_score": "cast(f_score as varchar)",
    "m_score": "cast(m_score as varchar)",
    "segment": "segment",
    "churn_risk_level": "churn_risk_level",
    "sessions_per_week": "case when sessions_per_week = 0 then '0' when sessions_per_week <= 1 then '(0,1]' "
                         "when sessions_per_week <= 3 then '(1,3]' else '>3' end",
}
DISTRIBUTIONS_DDL = """
    create table if not exists audit.feature_distributions (
        measured_at timestamptz, feature varchar, bucket varchar, share double)"""


class DriftConfig(dg.Config):
    max_psi: float = 0.25  # above this a feature has shifted significantly since the previous build


class FreshnessConfig(dg.Config):
    max_age_hours: float = 48.0  # newest prediction older than this (at the data's as-of time) fails


@dg.asset_check(asset=MEMBER_FEATURES, name="key_features_stable", blocking=False,
                description="Population stability index of key feature distributions against the previous build.")
def key_features_stable(config: DriftConfig, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        con.execute(DISTRIBUTIONS_DDL)
        previous_at = con.execute("select max(measured_at) from audit.feature_distributions").fetchall()[0][0]
        current: dict[str, dict[str, float]] = {}
        for feature, bucket in DRIFT_BUCKETS.items():
            rows = con.execute(f"""select coalesce({bucket}, 'null'), count(*) / sum(count(*)) over ()
                                   from marts.member_features group by 1""").fetchall()
            current[feature] = {b: s for b, s in rows}
        previous: dict[str, dict[str, float]] = {}
        if previous_at is not None:
            for feature, bucket, share in con.execute(
                    "select feature, bucket, share from audit.feature_distributions where measured_at = ?",
                    [previous_at]).fetchall():
                previous.setdefault(feature, {})[bucket] = share
        # This build's distribution becomes the next build's baseline.
        now = datetime.now(UTC)
        rows = [(now, f, b, s) for f, shares in current.items() for b, s in shares.items()]
        if rows:  # no members yet: nothing to compare next time either
            con.executemany("insert into audit.feature_distributions values (?, ?, ?, ?)", rows)
    if not previous:
        return dg.AssetCheckResult(passed=True, metadata={"baseline": "none yet (first build)"})
    psi = {f: round(population_stability_index(previous.get(f, {}), shares), 4) for f, shares in current.items()}
    drifted = sorted(f for f, value in psi.items() if value > config.max_psi)
    return dg.AssetCheckResult(
        passed=not drifted, severity=dg.AssetCheckSeverity.WARN,
        metadata={"psi": dg.MetadataValue.json(psi), "max_psi": config.max_psi, "drifted": ", ".join(drifted) or "none",
                  "baseline_measured_at": previous_at.isoformat()})


@dg.asset_check(asset=PROFILE_PREDICTIONS, name="predictions_fresh", blocking=False,
                description="The newest Customer.io prediction is recent relative to the newest behaviour data.")
def predictions_fresh(config: FreshnessConfig, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        newest_age, members, stale = con.execute("""
            select min(age_hours), count(*), count(*) filter (where is_stale) from marts.profile_predictions""").fetchall()[0]
    passed = newest_age is not None and newest_age <= config.max_age_hours
    return dg.AssetCheckResult(
        passed=passed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"newest_prediction_age_hours": newest_age if newest_age is not None else -1.0,
                  "max_age_hours": config.max_age_hours, "members_with_predictions": members,
                  "stale_predictions": stale})
