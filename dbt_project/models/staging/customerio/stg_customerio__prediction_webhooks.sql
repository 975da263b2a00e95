-- Prediction payloads (customerio-integration-spec §2.2): one row per received payload.
with webhooks as (
    select webhook_id, received_at, {{ json_from_text('body') }} as body
    from {{ source('raw', 'customerio_webhooks') }}
    where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
        and kind = 'prediction'
)
select
    webhook_id,
    received_at,
    try_cast({{ json_text('body', '$.user_id') }} as bigint) as user_id,
    try_cast({{ json_text('body', '$.predictions.churn_probability') }} as double) as churn_probability,
    try_cast({{ json_text('body', '$.predictions.engagement_score') }} as double) as engagement_score,
    try_cast({{ json_text('body', '$.predictions.predicted_ltv') }} as double) as predicted_ltv,
    try_cast({{ json_text('body', '$.predictions.purchase_probability') }} as double) as purchase_probability,
    try_cast({{ json_text('body', '$.predictions.predicted_purchase_value') }} as double) as predicted_purchase_value,
    {{ json_value('body', '$.predictions.product_affinity_scores') }} as product_affinity_scores,
    {{ json_text('body', '$.predictions.recommended_segment') }} as recommended_segment,
    {{ json_text('body', '$.predictions.next_best_action') }} as next_best_action,
    {{ json_value('body', '$.predictions') }} as predictions
from webhooks
