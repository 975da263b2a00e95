-- One row per (source record, identifier): every identifier seen anywhere, raw and normalized.
-- A record is what links identifiers to each other (they were seen together on it).
with action_logs as (
    select 'action_log' as source, brand_id, event_id as record_id, occurred_at as observed_at,
        user_id, email_raw, phone_raw, loyalty_id_raw, device_id_raw, cookie_id_raw, whatsapp_raw, qr_id_raw,
        card_last4_raw
    from {{ ref('stg_app__action_logs') }}
),

app_users as (
    select 'app_user' as source, brand_id, cast(user_id as varchar) as record_id, created_at as observed_at,
        user_id, email as email_raw, phone_number as phone_raw
    from {{ ref('stg_app__users') }}
),

-- Customer.io knows people by our user id (its `id`); the brand comes from the member.
customerio_exports as (
    select 'customerio_export' as source, u.brand_id, e.person_key || '@' || strftime(e.exported_at, '%Y%m%dT%H%M%S') as record_id,
        e.exported_at as observed_at, u.user_id, e.email_raw
    from {{ ref('stg_customerio__exports') }} as e
    inner join {{ ref('stg_app__users') }} as u on try_cast(e.customer_id as bigint) = u.user_id
),

customerio_webhooks as (
    select 'customerio_webhook' as source, u.brand_id, w.event_id as record_id, w.occurred_at as observed_at,
        u.user_id, w.email_raw
    from {{ ref('stg_customerio__reporting_webhooks') }} as w
    inner join {{ ref('stg_app__users') }} as u on try_cast(w.customer_id as bigint) = u.user_id
    where w.occurred_at is not null
),

records as (
    select * from action_logs
    union all by name select * from app_users
    union all by name select * from customerio_exports
    union all by name select * from customerio_webhooks
),

unpivoted as (
    select * from (
        unpivot (select * exclude (user_id), cast(user_id as varchar) as user_id_raw from records)
        on user_id_raw, email_raw, phone_raw, loyalty_id_raw, device_id_raw, cookie_id_raw, whatsapp_raw, qr_id_raw,
            card_last4_raw
        into name id_column value raw_value
    )
),

typed as (
    select u.source, u.brand_id, u.record_id, u.observed_at,
        replace(u.id_column, '_raw', '') as id_type,
        u.raw_value,
        coalesce(b.timezone, 'UTC') as brand_timezone
    from unpivoted as u
    left join {{ ref('stg_app__brands') }} as b using (brand_id)
),

-- Phone parsing is the expensive step: do it once per distinct raw value and region.
phones as (
    select distinct raw_value, brand_timezone, phone_e164(raw_value, brand_timezone) as e164
    from typed
    where id_type in ('phone', 'whatsapp')
),

normalized as (
    select t.*,
        case when t.id_type in ('phone', 'whatsapp') then p.e164
             else {{ normalize_identifier('t.id_type', 't.raw_value', 't.brand_timezone') }} end as value
    from typed as t
    left join phones as p
        on t.id_type in ('phone', 'whatsapp') and p.raw_value = t.raw_value and p.brand_timezone = t.brand_timezone
)

select
    source,
    brand_id,
    record_id,
    observed_at,
    id_type,
    raw_value,
    value,
    {{ invalid_identifier_reason('id_type', 'raw_value', 'value') }} as invalid_reason
from normalized
