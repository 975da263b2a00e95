-- Every action with the profile it resolved to and the identifier type that tied it (actions without any
-- usable identifier have neither),
-- except the actions of erased members. Only the columns the Customer 360, feature, achievement and
-- card models read: the raw identifiers, addresses and user agents stay in staging.
select a.event_id, a.brand_id, a.user_id, a.action_type, a.occurred_at, a.channel, a.product_id, a.reward_id,
    a.points_awarded, a.amount, a.context, rp.profile_id, rp.matched_by
from {{ ref('stg_app__action_logs') }} as a
left join {{ source('identity', 'record_profiles') }} as rp
    on rp.source = 'action_log' and rp.brand_id = a.brand_id and rp.record_id = a.event_id
where rp.profile_id is null or rp.profile_id not in (select profile_id from {{ ref('int_identity__erased_profiles') }})
