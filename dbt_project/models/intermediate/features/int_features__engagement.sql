-- Engagement features per member over the engagement window (var engagement_window_days), from
-- the seeds' list: sessions, session length and rhythm, action diversity, time consistency,
-- product exploration, category and time-of-day preferences, feature affinities.
with events as (
    select e.profile_id, e.brand_id, e.action_type, e.product_id, e.occurred_at, e.context,
        timezone(b.timezone, e.occurred_at) as local_time
    from {{ ref('int_identity__profile_events') }} as e
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
    where e.profile_id is not null
        and e.occurred_at > {{ as_of() }} - to_days({{ var('engagement_window_days') }})
        and e.occurred_at <= {{ as_of() }}
),

members as (
    select m.*, least({{ var('engagement_window_days') }}, greatest(1, date_diff('day', m.created_at, {{ as_of() }})))
        as observed_days
    from {{ ref('int_features__members') }} as m
),

sessions as (
    select profile_id,
        count(*) filter (where action_type = 'user_session_started') as sessions,
        avg(try_cast(context ->> '$.duration_seconds' as double)) filter (where action_type = 'user_session_ended')
            as avg_session_seconds
    from events group by all
),

-- Normalized Shannon entropy of the action mix: 0 = one kind of action, 1 = all kinds evenly.
diversity as (
    select profile_id, -sum(p * ln(p)) / ln(21) as action_diversity
    from (select profile_id, count(*) / sum(count(*)) over (partition by profile_id) as p
          from events group by profile_id, action_type)
    group by all
),

-- Regular rhythm: 1 / (1 + coefficient of variation of the gaps between active days).
consistency as (
    select profile_id, case when count(gap) >= 2 then 1 / (1 + coalesce(stddev_pop(gap) / nullif(avg(gap), 0), 0)) end
        as time_consistency
    from (select profile_id, date_diff('day', lag(day) over (partition by profile_id order by day), day) as gap
          from (select distinct profile_id, cast(local_time as date) as day from events))
    group by all
),

catalog as (
    select brand_id, count(*) as products from {{ ref('stg_app__products') }} group by all
),

exploration as (
    select e.profile_id, count(distinct e.product_id) / any_value(c.products) as product_exploration
    from events as e inner join catalog as c using (brand_id)
    where e.product_id is not null
    group by all
),

categories as (
    select profile_id, map_from_entries(list((product_form, round(share, 4)) order by product_form)) as category_preferences
    from (select e.profile_id, p.product_form, count(*) / sum(count(*)) over (partition by e.profile_id) as share
          from events as e inner join {{ ref('stg_app__products') }} as p using (product_id)
          group by e.profile_id, p.product_form)
    group by all
),

times as (
    select profile_id, map_from_entries(list((part, round(share, 4)) order by part)) as time_of_day_preferences
    from (select profile_id,
              case when hour(local_time) between 5 and 11 then 'morning' when hour(local_time) between 12 and 16 then 'afternoon'
                   when hour(local_time) between 17 and 21 then 'evening' else 'night' end as part,
              count(*) / sum(count(*)) over (partition by profile_id) as share
          from events group by 1, 2)
    group by all
),

affinities as (
    select profile_id, map_from_entries(list((feature, round(share, 4)) order by feature)) as feature_affinities
    from (select profile_id, feature, count(*) / sum(count(*)) over (partition by profile_id) as share
          from (select profile_id,
                    case when action_type = 'product_scanned' then 'scans'
                         when action_type like 'referral_%' then 'referrals'
                         when action_type like 'wishlist_%' then 'wishlists'
                         when action_type = 'reward_redeemed' then 'rewards'
                         when action_type = 'achievement_unlocked' then 'achievements'
                         when action_type like 'card_%' then 'cards' end as feature
                from events)
          where feature is not null
          group by profile_id, feature)
    group by all
)

select
    m.profile_id,
    coalesce(s.sessions, 0) as sessions,
    s.avg_session_seconds,
    round(coalesce(s.sessions, 0) / (m.observed_days / 7.0), 3) as sessions_per_week,
    round(coalesce(d.action_diversity, 0), 4) as action_diversity,
    round(c.time_consistency, 4) as time_consistency,
    round(coalesce(x.product_exploration, 0), 4) as product_exploration,
    cp.category_preferences,
    t.time_of_day_preferences,
    a.feature_affinities
from members as m
left join sessions as s using (profile_id)
left join diversity as d using (profile_id)
left join consistency as c using (profile_id)
left join exploration as x using (profile_id)
left join categories as cp using (profile_id)
left join times as t using (profile_id)
left join affinities as a using (profile_id)
