-- The identifiers seen on the records that are extracts, not events: app users, Customer.io exports
-- and reporting webhooks. Rebuilt every run (each extract replaces the previous one).
with app_users as (
    select 'app_user' as source, brand_id, cast(user_id as {{ text_type() }}) as record_id, created_at as observed_at,
        user_id, email as email_raw, phone_number as phone_raw
    from {{ ref('stg_app__users') }}
),

-- Customer.io knows people by our user id (its `id`); the brand comes from the member.
customerio_exports as (
    select 'customerio_export' as source, u.brand_id, e.person_key || '@' || {{ format_instant('e.exported_at', '%Y%m%dT%H%M%S') }} as record_id,
        e.exported_at as observed_at, u.user_id, e.email_raw, cast(null as {{ text_type() }}) as phone_raw
    from {{ ref('stg_customerio__exports') }} as e
    inner join {{ ref('stg_app__users') }} as u on try_cast(e.customer_id as bigint) = u.user_id
),

customerio_webhooks as (
    select 'customerio_webhook' as source, u.brand_id, w.event_id as record_id, w.occurred_at as observed_at,
        u.user_id, w.email_raw, cast(null as {{ text_type() }}) as phone_raw
    from {{ ref('stg_customerio__reporting_webhooks') }} as w
    inner join {{ ref('stg_app__users') }} as u on try_cast(w.customer_id as bigint) = u.user_id
    where w.occurred_at is not null
),

-- Every source with every identifier column (null where the source has none), the same columns in the
-- same order in each: Spark's union matches columns by position.
records as (
    select *, {% for column in ['loyalty_id_raw', 'device_id_raw', 'cookie_id_raw', 'whatsapp_raw', 'qr_id_raw',
                                 'card_last4_raw'] %}cast(null as {{ text_type() }}) as {{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from (
        select * from app_users
        union all select * from customerio_exports
        union all select * from customerio_webhooks
    )
),

{{ observe_identifiers('records', parsed_phones=ref('int_identity__phone_numbers')) }}
