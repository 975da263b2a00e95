-- Prediction payloads (customerio-integration-spec §2.2): one row per received payload.
with webhooks as (
    select webhook_id, received_at, cast(body as json) as body
    from {{ source('raw', 'customerio_webhooks') }}
    where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
        and kind = 'prediction'
)
select
    webhook_id,
    received_at,
    try_cast(body ->> '$.user_id' as bigint) as user_id,
    try_cast(body ->> '$.predictions.churn_probability' as double) as churn_probability,
    try_cast(body ->> '$.predictions.engagement_score' as double) as engagement_score,
    try_cast(body ->> '$.predictions.predicted_ltv' as double) as predicted_ltv,
    try_cast(body ->> '$.predictions.purchase_probability' as double) as purchase_probability,
    try_cast(body ->> '$.predictions.predicted_purchase_value' as double) as predicted_purchase_value,
    body -> '$.predictions.product_affinity_scores' as product_affinity_scores,
    body ->> '$.predictions.recommended_segment' as recommended_segment,
    body ->> '$.predictions.next_best_action' as next_best_action,
    body -> '$.predictions' as predictions
from webhooks
