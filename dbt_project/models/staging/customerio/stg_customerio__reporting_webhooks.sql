-- Reporting webhooks (deliveries, opens, clicks ...), one row per Customer.io event_id.
with webhooks as (
    select webhook_id, received_at, {{ json_from_text('body') }} as body
    from {{ source('raw', 'customerio_webhooks') }}
    where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
        and kind = 'reporting'
)
select
    webhook_id as event_id,
    received_at,
    {{ json_text('body', '$.metric') }} as metric,
    {{ json_text('body', '$.object_type') }} as object_type,
    {{ epoch_seconds_to_instant("try_cast(" ~ json_text('body', '$.timestamp') ~ " as bigint)") }} as occurred_at,
    {{ json_text('body', '$.data.identifiers.id') }} as customer_id,
    {{ json_text('body', '$.data.identifiers.email') }} as email_raw,
    {{ json_text('body', '$.data.delivery_id') }} as delivery_id,
    try_cast({{ json_text('body', '$.data.campaign_id') }} as bigint) as campaign_id,
    {{ json_value('body', '$.data') }} as data
from webhooks
