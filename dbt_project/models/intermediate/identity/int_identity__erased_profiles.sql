-- Profiles of members who asked to be erased: the Customer 360 marts leave them out entirely.
select distinct p.profile_id
from {{ ref('stg_app__erasure_requests') }} as e
inner join {{ source('identity', 'identifier_profiles') }} as p
    on p.brand_id = e.brand_id and p.id_type = 'user_id' and p.value = cast(e.user_id as varchar)
