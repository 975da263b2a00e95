-- Achievement definitions are data: brand_id is null for global achievements.
select
    id as achievement_config_id,
    brand_id,
    name as achievement_name,
    description,
    achievement_key,
    achievement_type,
    criteria,
    rewards,
    visibility,
    ai_enhancement,
    metadata,
    coalesce(is_active, true) as is_active
from {{ source('raw', 'app_achievement_configs') }}
