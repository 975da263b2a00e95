select
    id as referral_id,
    referrer_user_id,
    referee_user_id,
    referral_code,
    lower(trim(email)) as referee_email,
    status,
    converted_at,
    coalesce(points_awarded_to_referrer, 0) as points_awarded_to_referrer,
    created_at
from {{ source('raw', 'app_referrals') }}
