-- Everything known about a member for activation and cards: RFM and segment, the BTYD summary,
-- engagement, channels, and churn risk from the latest fresh Customer.io prediction, or from
-- the RFM segment when the prediction is missing or stale.
with predictions as (
    select * from {{ ref('profile_predictions') }}
)

select
    m.brand_id,
    m.user_id,
    m.profile_id,
    m.points_balance,
    m.lifetime_points,
    m.current_rank_key,
    r.recency_days,
    r.last_purchase_at,
    r.frequency,
    r.monetary,
    r.r_score,
    r.f_score,
    r.m_score,
    r.rfm_cell,
    r.segment,
    l.btyd_frequency,
    l.btyd_recency,
    l.btyd_t,
    l.btyd_monetary_value,
    e.sessions,
    e.avg_session_seconds,
    e.sessions_per_week,
    e.action_diversity,
    e.time_consistency,
    e.product_exploration,
    e.category_preferences,
    e.time_of_day_preferences,
    e.feature_affinities,
    c.preferred_channel,
    c.online_purchases,
    c.store_purchases,
    c.product_scans,
    p.churn_probability as predicted_churn_probability,
    p.predicted_at,
    p.age_hours as prediction_age_hours,
    coalesce(p.is_stale, true) as prediction_missing_or_stale,
    case when p.is_stale = false and p.churn_probability is not null then p.churn_probability
         else g.fallback_churn_probability end as churn_probability,
    case when p.is_stale = false and p.churn_probability is not null then 'customerio' else 'rfm_fallback' end
        as churn_source,
    {{ churn_risk_level("case when p.is_stale = false and p.churn_probability is not null then p.churn_probability
                              else g.fallback_churn_probability end") }} as churn_risk_level
from {{ ref('int_features__members') }} as m
inner join {{ ref('member_rfm') }} as r using (profile_id)
inner join {{ ref('int_features__lifetimes') }} as l using (profile_id)
inner join {{ ref('int_features__engagement') }} as e using (profile_id)
left join {{ ref('profile_channel_stats') }} as c using (profile_id)
left join predictions as p using (profile_id)
left join {{ ref('rfm_segments') }} as g on g.segment = r.segment
