select
    id as rank_id,
    brand_id,
    key as rank_key,
    name as rank_name,
    points_required,
    coalesce(point_multiplier, 1.00) as point_multiplier,
    benefits,
    coalesce(is_active, true) as is_active
from {{ source('raw', 'app_ranks') }}
