{{ config(materialized='view') }}
-- Engagement features per member over the engagement window (var engagement_window_days): the window's aggregates
-- of their profile (int_features__engagement_by_profile; zeros and nulls for a member with no action in it), and
-- the sessions per week over the days the member has been one, at most the window, which grow with the day.
-- A view: the aggregates are kept per profile, and only member_features reads this.
with members as (
    select m.profile_id, least({{ var('engagement_window_days') }},
            greatest(1, {{ local_days_between('m.created_at', as_of(), "coalesce(b.timezone, 'UTC')") }})) as observed_days
    from {{ ref('int_features__members') }} as m
    left join {{ ref('stg_app__brands') }} as b using (brand_id)
)

select
    m.profile_id,
    coalesce(e.sessions, 0) as sessions,
    e.avg_session_seconds,
    {{ round_double('coalesce(e.sessions, 0) / ' ~ ratio('m.observed_days', '7.0'), 3) }} as sessions_per_week,
    coalesce(e.action_diversity, 0) as action_diversity,
    e.time_consistency,
    coalesce(e.product_exploration, 0) as product_exploration,
    e.category_preferences,
    e.time_of_day_preferences,
    e.feature_affinities
from members as m
left join {{ ref('int_features__engagement_by_profile') }} as e using (profile_id)
