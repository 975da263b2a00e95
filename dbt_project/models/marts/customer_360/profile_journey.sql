-- The omnichannel timeline: every action of every profile in order, with the channel and
-- the identifier that tied it to the profile.
select
    e.profile_id,
    e.brand_id,
    {{ row_number('partition by e.profile_id order by e.occurred_at, e.event_id') }} as step,
    e.occurred_at,
    e.channel,
    e.action_type,
    e.event_id,
    e.matched_by,
    e.product_id,
    p.product_name,
    p.product_form,
    e.amount,
    e.points_awarded
from {{ ref('int_identity__profile_events') }} as e
left join {{ ref('stg_app__products') }} as p using (product_id)
where e.profile_id is not null
