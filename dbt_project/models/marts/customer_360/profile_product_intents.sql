-- Products a profile shows intent for (views, cart adds and abandons, wishlist) and has not
-- bought since: the ten strongest per profile.
with signals as (
    select profile_id, brand_id, product_id,
        count(*) filter (where action_type = 'product_view') as views,
        count(*) filter (where action_type = 'cart_add') as cart_adds,
        count(*) filter (where action_type = 'cart_abandon') as cart_abandons,
        count(*) filter (where action_type = 'wishlist_added') - count(*) filter (where action_type = 'wishlist_removed')
            as wishlist_net,
        max(occurred_at) filter (where action_type in ('product_view', 'cart_add', 'cart_abandon', 'wishlist_added'))
            as last_signal_at,
        max(occurred_at) filter (where action_type in ('purchase', 'pos_transaction', 'product_scanned'))
            as last_purchase_at
    from {{ ref('int_identity__profile_events') }}
    where profile_id is not null and product_id is not null
    group by all
),

scored as (
    select *,
        views + 3 * cart_adds + 2 * cart_abandons + 4 * greatest(wishlist_net, 0) as intent_score
    from signals
    where last_signal_at is not null and (last_purchase_at is null or last_purchase_at < last_signal_at)
)

select
    s.profile_id,
    s.brand_id,
    s.product_id,
    p.product_name,
    p.product_form,
    s.views,
    s.cart_adds,
    s.cart_abandons,
    greatest(s.wishlist_net, 0) > 0 as on_wishlist,
    s.intent_score,
    s.last_signal_at,
    {{ row_number('partition by s.profile_id order by s.intent_score desc, s.last_signal_at desc, s.product_id') }}
        as intent_rank
from scored as s
left join {{ ref('stg_app__products') }} as p using (product_id)
where s.intent_score > 0
qualify intent_rank <= 10
