-- Progress of every member on every achievement of their brand (and the global ones): the
-- metric in the current window, target, percent, completed and when, tiers, repeats, and
-- whether the achievement is offered (its Customer.io prediction gate passes).
with configs as (
    select * from {{ ref('int_achievements__configs') }}
),

members as (
    select m.brand_id, m.user_id, m.profile_id, b.timezone
    from {{ ref('int_features__members') }} as m
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
),

-- Every member with each achievement that applies in their brand, as keys: the configs' columns join once, at
-- the end, so this table of members times achievements, which three of the steps below read, stays narrow.
pairs as (
    select m.brand_id, m.user_id, m.profile_id, bc.achievement_config_id,
        {{ local_timestamp(as_of(), 'm.timezone') }} as local_as_of
    from members as m
    inner join {{ ref('int_achievements__brand_configs') }} as bc using (brand_id)
),

q as (
    select * from {{ ref('int_achievements__qualifying_events') }}
),

-- The metric in the window that is current at the as-of time. The qualifying events are reduced
-- to one row per member and achievement before they meet the member x achievement pairs: joining
-- the pairs first would carry every event through a join as wide as the pairs.
current_values as (
    select q.profile_id, q.achievement_config_id,
        case any_value(a.metric)
            when 'count' then count(q.event_id)
            when 'sum' then cast(coalesce(sum(try_cast(q.field_value as decimal(18, 4))) filter (where a.metric = 'sum'), 0)
                                 as double)
            when 'distinct_count' then count(distinct q.field_value) filter (where a.metric = 'distinct_count')
        end as value
    from q
    inner join configs as a using (achievement_config_id)
    inner join members as m using (profile_id)
    where a.metric <> 'streak'
        and case a.timeframe
            when 'rolling_days' then q.occurred_at > {{ as_of() }} - {{ days_interval('a.rolling_days') }}
            when 'calendar' then date_trunc(a.calendar_period, q.local_time)
                = date_trunc(a.calendar_period, {{ local_timestamp(as_of(), 'm.timezone') }})
            else true end
    group by q.profile_id, q.achievement_config_id
),

completions as (  -- a row per window whose target was met
    select profile_id, achievement_config_id, min(completed_at) as completed_at, count(window_key) as windows_completed
    from {{ ref('int_achievements__window_completions') }}
    group by profile_id, achievement_config_id
),

streaks as (
    select s.profile_id, s.achievement_config_id,
        -- The current streak is the run that reaches the current (or the previous) unit.
        coalesce(max(s.run_length) filter (where s.run_end >= cast(date_trunc(a.streak_unit, p.local_as_of) as date)
            - case a.streak_unit when 'week' then 7 else 1 end), 0) as current_streak,
        max(s.run_length) as longest_streak,
        min(s.run_start + cast((a.target - 1) * case a.streak_unit when 'week' then 7 else 1 end as integer))
            filter (where {{ compare('s.run_length', 'a.operator', 'a.target') }}) as completed_on,
        sum(floor(s.run_length / a.target)) as runs_completed
    from {{ ref('int_achievements__streaks') }} as s
    inner join pairs as p using (profile_id, achievement_config_id)
    inner join configs as a using (achievement_config_id)
    group by s.profile_id, s.achievement_config_id, a.streak_unit, p.local_as_of, a.operator, a.target
),

gates as (
    select p.profile_id, p.achievement_config_id,
        try_cast({{ json_text_at('pr.product_affinity_scores',
            "'$.' || replace(a.gate_prediction, 'product_affinity_scores.', '')") }} as double) as gate_score
    from pairs as p
    inner join configs as a using (achievement_config_id)
    left join {{ ref('profile_predictions') }} as pr using (profile_id)
    where a.gate_prediction is not null
),

progress as (
    select p.*, a.achievement_key, a.achievement_name, a.metric, a.timeframe, a.rolling_days, a.calendar_period,
        a.streak_unit, a.operator, a.target, a.repeatable, a.tier_targets, a.gate_prediction, a.gate_operator,
        a.gate_value,
        cast(case when a.metric = 'streak' then coalesce(s.current_streak, 0) else coalesce(v.value, 0) end as double)
            as current_value,
        case when a.metric = 'streak' then cast(s.completed_on as {{ instant_type() }}) else c.completed_at end as completed_at,
        case when a.metric = 'streak' then coalesce(s.runs_completed, 0)
             when a.timeframe = 'calendar' then coalesce(c.windows_completed, 0)
             when a.timeframe = 'all_time' and a.metric in ('count', 'sum') and a.operator in ('>=', '>') and a.target > 0
                 then floor(coalesce(v.value, 0) / a.target)
             else case when c.completed_at is not null then 1 else 0 end
        end as completions,
        g.gate_score
    from pairs as p
    inner join configs as a using (achievement_config_id)
    left join current_values as v using (profile_id, achievement_config_id)
    left join completions as c using (profile_id, achievement_config_id)
    left join streaks as s using (profile_id, achievement_config_id)
    left join gates as g using (profile_id, achievement_config_id)
)

select
    brand_id,
    user_id,
    profile_id,
    achievement_config_id,
    achievement_key,
    achievement_name,
    metric,
    timeframe,
    case timeframe
        when 'rolling_days' then 'last ' || rolling_days || ' days'
        when 'calendar' then 'this ' || calendar_period
        when 'streak' then 'consecutive ' || streak_unit || 's'
        else 'all time' end as window_label,
    current_value,
    target,
    operator,
    cast(round(least(100, 100 * current_value / nullif(target, 0)), 1) as double) as percent,
    completed_at is not null as completed,
    completed_at,
    repeatable,
    cast(case when repeatable then completions else least(completions, 1) end as bigint) as times_completed,
    cast({{ count_matching('coalesce(tier_targets, ' ~ empty_list() ~ ')', 't', 't <= current_value') }} as integer) as tiers_reached,
    {{ list_at(filter_list('coalesce(tier_targets, ' ~ empty_list() ~ ')', 't', 't > current_value'), 1) }} as next_tier_target,
    gate_score,
    gate_prediction is null
        or coalesce({{ compare('gate_score', 'gate_operator', 'gate_value') }}, false) as is_offered
from progress
