-- Customer 360 overview: one row per profile.
with identifiers as (
    select * from {{ ref('profile_identifiers') }}
),

-- Strength: points per identifier type present (best one of each type), scaled by how recently
-- that type was confirmed; 100 = member id, email and phone all seen in the last 30 days.
type_strength as (
    select profile_id, id_type,
        max(
            case id_type when 'user_id' then 30 when 'email' then 25 when 'phone' then 20 when 'whatsapp' then 10
                when 'loyalty_id' then 10 when 'device_id' then 5 when 'qr_id' then 3 when 'cookie_id' then 2
                else 1 end
            * case when last_seen_at >= {{ as_of() }} - interval 30 day then 1.0
                   when last_seen_at >= {{ as_of() }} - interval 90 day then 0.75 else 0.5 end
        ) as points
    from identifiers
    group by all
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
        max(last_seen_at) as last_seen_at
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
    cast(least(100, round(st.points)) as integer) as strength_score,
    s.identifier_count,
    s.identifier_types,
    cast(round(coalesce(o.lifetime_value, 0), 2) as decimal(18, 2)) as lifetime_value,
    coalesce(o.total_orders, 0) as total_orders,
    o.last_order_at,
    s.first_seen_at,
    s.last_seen_at,
    coalesce(m.merged_profiles, 0) as merged_profiles
from summary as s
inner join (select profile_id, sum(points) as points from type_strength group by all) as st using (profile_id)
left join orders as o using (profile_id)
left join merges as m using (profile_id)
