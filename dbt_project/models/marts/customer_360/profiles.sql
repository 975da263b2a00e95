-- Customer 360 overview: one row per profile.
{#- Strength points of each identifier type (profile_identifiers' id_type: this list is all of them). -#}
{%- set type_points = {'user_id': 30, 'email': 25, 'phone': 20, 'whatsapp': 10, 'loyalty_id': 10, 'device_id': 5,
                       'qr_id': 3, 'cookie_id': 2, 'card_last4': 1} %}
with identifiers as (
    select * from {{ ref('profile_identifiers') }}
),

summary as (
    select
        profile_id,
        any_value(brand_id) as brand_id,
        try_cast(max(value) filter (where id_type = 'user_id') as bigint) as user_id,
        {{ arg_max('value', ['last_seen_at', 'value']) }} filter (where id_type = 'email') as email,
        {{ arg_max('value', ['last_seen_at', 'value']) }} filter (where id_type = 'phone') as phone,
        count(*) as identifier_count,
        {{ sorted_distinct_list('id_type') }} as identifier_types,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        -- Strength: points per identifier type present, scaled by how recently that type was last seen;
        -- 100 = member id, email and phone all seen in the last 30 days.
        {%- for id_type, points in type_points.items() %}
        {%- set seen = "max(last_seen_at) filter (where id_type = '" ~ id_type ~ "')" %}
        {{ '+ ' if not loop.first }}{{ points }} * case when {{ seen }} >= {{ as_of() }} - interval 30 day then 1.0
            when {{ seen }} >= {{ as_of() }} - interval 90 day then 0.75
            when count(*) filter (where id_type = '{{ id_type }}') > 0 then 0.5 else 0 end
        {%- endfor %} as points
    from identifiers
    group by all
),

orders as (
    select profile_id,
        count(*) filter (where action_type in ('purchase', 'pos_transaction', 'product_scanned')) as total_orders,
        coalesce(sum(purchase_value), 0) as lifetime_value,
        max(occurred_at) filter (where action_type in ('purchase', 'pos_transaction', 'product_scanned')) as last_order_at
    from {{ ref('int_customer_360__purchases') }}
    group by all
),

merges as (
    select profile_id, count(*) as merged_profiles
    from {{ source('identity', 'profile_merges') }}
    group by all
)

select
    s.profile_id,
    s.brand_id,
    s.user_id,
    s.user_id is not null as is_member,
    s.email,
    s.phone,
    cast(least(100, round(s.points)) as integer) as strength_score,
    s.identifier_count,
    s.identifier_types,
    cast(round(coalesce(o.lifetime_value, 0), 2) as decimal(18, 2)) as lifetime_value,
    coalesce(o.total_orders, 0) as total_orders,
    o.last_order_at,
    s.first_seen_at,
    s.last_seen_at,
    coalesce(m.merged_profiles, 0) as merged_profiles
from summary as s
left join orders as o using (profile_id)
left join merges as m using (profile_id)
