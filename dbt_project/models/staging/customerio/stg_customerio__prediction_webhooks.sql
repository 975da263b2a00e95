{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
-- Prediction payloads (customerio-integration-spec §2.2): one row per received payload.
-- The scalar fields are read with one parse of the body (a parse per field cost more than the rest of the
-- model at millions of payloads); the two nested values stay JSON. Incremental like the action-log staging: a
-- build parses only the payloads of files it has not read (two marts read this; as a view, each parsed every
-- payload ever received on every build). An erased member's rows are deleted by erasure (erasure/redact.py).
with webhooks as (
    select webhook_id, received_at, {{ json_from_text('body') }} as body, _file_id
    from {{ source('raw', 'customerio_webhooks') }}
    where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
        and kind = 'prediction'
    {% if is_incremental() %}
        and _file_id not in (select distinct source_file_id from {{ this }})
    {% endif %}
),

fields as (
    select *, {{ json_texts('body', ['$.user_id', '$.predictions.churn_probability', '$.predictions.engagement_score',
                                     '$.predictions.predicted_ltv', '$.predictions.purchase_probability',
                                     '$.predictions.predicted_purchase_value', '$.predictions.recommended_segment',
                                     '$.predictions.next_best_action']) }} as texts
    from webhooks
)

select
    webhook_id,
    received_at,
    try_cast({{ list_at('texts', 1) }} as bigint) as user_id,
    try_cast({{ list_at('texts', 2) }} as double) as churn_probability,
    try_cast({{ list_at('texts', 3) }} as double) as engagement_score,
    try_cast({{ list_at('texts', 4) }} as double) as predicted_ltv,
    try_cast({{ list_at('texts', 5) }} as double) as purchase_probability,
    try_cast({{ list_at('texts', 6) }} as double) as predicted_purchase_value,
    {{ json_value('body', '$.predictions.product_affinity_scores') }} as product_affinity_scores,
    {{ list_at('texts', 7) }} as recommended_segment,
    {{ list_at('texts', 8) }} as next_best_action,
    {{ json_value('body', '$.predictions') }} as predictions,
    _file_id as source_file_id
from fields
