select
    id as reward_id,
    brand_id,
    name as reward_name,
    points_cost,
    product_id,
    category,
    inventory_count,
    coalesce(is_active, true) as is_active,
    created_at
from {{ source('raw', 'app_rewards') }}
