-- Members from the newest users extract.
select
    id as user_id,
    brand_id,
    email,
    first_name,
    last_name,
    phone_number,
    age_verified_at,
    coalesce(marketing_consent, false) as marketing_consent,
    referral_code,
    referred_by_user_id,
    coalesce(points_balance, 0) as points_balance,
    coalesce(lifetime_points, 0) as lifetime_points,
    current_rank_key,
    coalesce(is_guest, false) as is_guest,
    created_at,
    updated_at,
    _extracted_at as extracted_at
from {{ source('raw', 'app_users') }}
where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
