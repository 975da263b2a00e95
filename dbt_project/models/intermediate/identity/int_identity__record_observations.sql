-- The identifiers seen on the records that are extracts, not events: app users, Customer.io exports
-- and reporting webhooks. Rebuilt every run (each extract replaces the previous one).
with app_users as (
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

-- Every source with every identifier column (null where the source has none).
records as (
    select *, null::varchar as loyalty_id_raw, null::varchar as device_id_raw, null::varchar as cookie_id_raw,
        null::varchar as whatsapp_raw, null::varchar as qr_id_raw, null::varchar as card_last4_raw
    from (
        select * from app_users
        union all by name select * from customerio_exports
        union all by name select * from customerio_webhooks
    )
),

{{ observe_identifiers('records') }}
