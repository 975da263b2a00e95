-- What card rules need to know about a member: balance, rank and its multiplier, the next rank,
-- the brand's point values and card cap, and the member's features.
with ranks as (
    select * from {{ ref('stg_app__ranks') }} where is_active
)

select
    f.brand_id,
    f.user_id,
    f.profile_id,
    f.points_balance,
    f.lifetime_points,
    coalesce(r.rank_key, f.current_rank_key) as rank_key,
    r.rank_name,
    coalesce(r.point_multiplier, 1.0) as rank_multiplier,
    nxt.rank_key as next_rank_key,
    nxt.rank_name as next_rank_name,
    nxt.points_required as next_rank_points,
    coalesce(try_cast({{ json_text('b.settings', '$.scan_points_default') }} as integer), 100) as scan_points,
    coalesce(try_cast({{ json_text('b.settings', '$.referral_points') }} as integer), 150) as referral_points,
    coalesce(try_cast({{ json_text('b.settings', '$.card_cap') }} as integer), 3) as card_cap,
    f.segment,
    f.monetary,
    f.churn_probability,
    f.churn_risk_level,
    f.category_preferences,
    f.feature_affinities
from {{ ref('member_features') }} as f
inner join {{ ref('stg_app__brands') }} as b using (brand_id)
left join ranks as r on r.brand_id = f.brand_id and r.rank_key = f.current_rank_key
left join lateral (
    select n.rank_key, n.rank_name, n.points_required from ranks as n
    where n.brand_id = f.brand_id and n.points_required > f.lifetime_points
    order by n.points_required limit 1
) as nxt on true
