select
    id as brand_id,
    name as brand_name,
    slug as brand_slug,
    coalesce(timezone, 'UTC') as timezone,
    coalesce(customer_io_region, 'us') as customer_io_region,
    settings,
    coalesce(is_active, true) as is_active,
    created_at
from {{ source('raw', 'app_brands') }}
