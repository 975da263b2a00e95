-- Reporting webhooks (deliveries, opens, clicks ...), one row per Customer.io event_id.
with webhooks as (
    select webhook_id, received_at, cast(body as json) as body
    from {{ source('raw', 'customerio_webhooks') }}
    where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
        and kind = 'reporting'
)
select
    webhook_id as event_id,
    received_at,
    body ->> '$.metric' as metric,
    body ->> '$.object_type' as object_type,
    to_timestamp(try_cast(body ->> '$.timestamp' as bigint)) as occurred_at,
    body ->> '$.data.identifiers.id' as customer_id,
    body ->> '$.data.identifiers.email' as email_raw,
    body ->> '$.data.delivery_id' as delivery_id,
    try_cast(body ->> '$.data.campaign_id' as bigint) as campaign_id,
    body -> '$.data' as data
from webhooks
