-- Every member (an app user with a resolved profile), the grain of the feature marts; erased
-- members are left out.
select u.brand_id, u.user_id, p.profile_id, u.created_at, u.points_balance, u.lifetime_points, u.current_rank_key
from {{ ref('stg_app__users') }} as u
inner join {{ source('identity', 'identifier_profiles') }} as p
    on p.brand_id = u.brand_id and p.id_type = 'user_id' and p.value = cast(u.user_id as {{ text_type() }})
where p.profile_id not in (select profile_id from {{ ref('int_identity__erased_profiles') }})
