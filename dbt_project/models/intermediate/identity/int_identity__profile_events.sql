-- Every action with the profile it resolved to (actions without any usable identifier have none),
-- except the actions of erased members.
select a.*, rp.profile_id
from {{ ref('stg_app__action_logs') }} as a
left join {{ source('identity', 'record_profiles') }} as rp
    on rp.source = 'action_log' and rp.brand_id = a.brand_id and rp.record_id = a.event_id
where rp.profile_id is null or rp.profile_id not in (select profile_id from {{ ref('int_identity__erased_profiles') }})
