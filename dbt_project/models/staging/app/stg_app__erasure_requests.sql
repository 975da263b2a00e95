-- The latest erasure request per member.
select
    brand_id,
    user_id,
    max(requested_at) as requested_at
from {{ source('raw', 'app_erasure_requests') }}
group by brand_id, user_id
