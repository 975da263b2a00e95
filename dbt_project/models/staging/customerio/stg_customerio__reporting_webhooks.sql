-- Reporting webhooks (deliveries, opens, clicks ...), one row per Customer.io event_id.
-- The scalar fields are read with one parse of the body; the nested data stays JSON.
with webhooks as (
    select webhook_id, received_at, {{ json_from_text('body') }} as body
    from {{ source('raw', 'customerio_webhooks') }}
    where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
        and kind = 'reporting'
),

fields as (
    select *, {{ json_texts('body', ['$.metric', '$.object_type', '$.timestamp', '$.data.identifiers.id',
                                     '$.data.identifiers.email', '$.data.delivery_id', '$.data.campaign_id']) }} as texts
    from webhooks
)

select
    webhook_id as event_id,
    received_at,
    {{ list_at('texts', 1) }} as metric,
    {{ list_at('texts', 2) }} as object_type,
    {{ epoch_seconds_to_instant("try_cast(" ~ list_at('texts', 3) ~ " as bigint)") }} as occurred_at,
    {{ list_at('texts', 4) }} as customer_id,
    {{ list_at('texts', 5) }} as email_raw,
    {{ list_at('texts', 6) }} as delivery_id,
    try_cast({{ list_at('texts', 7) }} as bigint) as campaign_id,
    {{ json_value('body', '$.data') }} as data
from fields
