-- The omnichannel timeline: every action of every profile in order, with the channel and
-- the identifier that tied it to the profile.
with anchors as (
    select o.brand_id, o.record_id, arg_min(o.id_type, i.priority) as matched_by
    from {{ ref('int_identity__links') }} as o
    inner join {{ ref('int_identity__identifiers') }} as i using (brand_id, id_type, value)
    where o.source = 'action_log'
    group by all
)

select
    e.profile_id,
    e.brand_id,
    row_number() over (partition by e.profile_id order by e.occurred_at, e.event_id) as step,
    e.occurred_at,
    e.channel,
    e.action_type,
    e.event_id,
    a.matched_by,
    e.product_id,
    p.product_name,
    p.product_form,
    e.amount,
    e.points_awarded
from {{ ref('int_identity__profile_events') }} as e
left join anchors as a on a.brand_id = e.brand_id and a.record_id = e.event_id
left join {{ ref('stg_app__products') }} as p using (product_id)
where e.profile_id is not null
