-- Purchases with their value (SPEC §4): product scans at the product's MSRP, online purchases
-- and POS transactions at their amount.
select e.profile_id, e.brand_id, e.event_id, e.occurred_at, e.action_type, e.channel, e.product_id,
    p.product_form, p.product_name,
    case when e.action_type = 'product_scanned' then p.msrp else e.amount end as purchase_value
from {{ ref('int_identity__profile_events') }} as e
left join {{ ref('stg_app__products') }} as p on p.product_id = e.product_id
where e.action_type in ('purchase', 'pos_transaction', 'product_scanned')
    and e.profile_id is not null
