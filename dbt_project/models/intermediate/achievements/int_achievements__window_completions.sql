-- Each window in which a member's metric met an achievement's target, with the first action at which it did. The
-- metric is followed as it stood right after every qualifying action, in the window the action belongs to (all time,
-- its calendar period, or the rolling N days ending at it; rolling windows are keyed 'all'). Sums add exact decimals:
-- the same events in another order give the same value. Only the first meeting action of each window is kept: it is
-- all that completions and progress read, and a row per action was a wide write (6.1M rows at 1M members, not 1.2M).
with q as (
    select q.*, a.metric, a.timeframe, a.rolling_days, a.calendar_period, a.operator, a.target,
        case when a.timeframe = 'calendar' then cast(date_trunc(a.calendar_period, q.local_time) as {{ text_type() }})
             else 'all' end as window_key
    from {{ ref('int_achievements__qualifying_events') }} as q
    inner join {{ ref('int_achievements__configs') }} as a using (achievement_config_id)
    where a.metric in ('count', 'sum', 'distinct_count')
),

-- Whether an action's value is the first of its window: only distinct counts read it, so only their actions are
-- sorted for it.
firsts as (
    select *, row_number() over (partition by profile_id, achievement_config_id, window_key, field_value
                                 order by occurred_at, event_id) = 1 as first_of_value
    from q
    where metric = 'distinct_count' and timeframe <> 'rolling_days'
    union all
    select *, false as first_of_value
    from q
    where metric <> 'distinct_count' and timeframe <> 'rolling_days'
),

cumulative as (  -- all-time and calendar windows: everything so far in the same window
    select profile_id, achievement_config_id, event_id, occurred_at, window_key, operator, target,
        case metric
            when 'count' then count(*) over w
            when 'sum' then cast(coalesce(sum(try_cast(field_value as decimal(18, 4))) over w, 0) as double)
            else sum(case when first_of_value and field_value is not null then 1 else 0 end) over w
        end as running_value
    from firsts
    window w as (partition by profile_id, achievement_config_id, window_key order by occurred_at, event_id
                 rows between unbounded preceding and current row)
),

rolling as (  -- rolling windows: the N days ending at each action
    select e.profile_id, e.achievement_config_id, e.event_id, e.occurred_at, e.window_key, e.operator, e.target,
        case any_value(e.metric)
            when 'count' then count(*)
            when 'sum' then cast(coalesce(sum(try_cast(p.field_value as decimal(18, 4))), 0) as double)
            else count(distinct p.field_value)
        end as running_value
    from q as e
    inner join q as p
        on p.profile_id = e.profile_id and p.achievement_config_id = e.achievement_config_id
        and p.occurred_at > e.occurred_at - {{ days_interval('e.rolling_days') }}
        and {{ ordering_key(['p.occurred_at', 'p.event_id']) }} <= {{ ordering_key(['e.occurred_at', 'e.event_id']) }}
    where e.timeframe = 'rolling_days'
    group by all
)

-- cumulative and rolling list the same columns in the same order, so a plain union all lines them up.
select profile_id, achievement_config_id, window_key, min(occurred_at) as completed_at
from (select * from cumulative union all select * from rolling)
where {{ compare('running_value', 'operator', 'target') }}
group by profile_id, achievement_config_id, window_key
