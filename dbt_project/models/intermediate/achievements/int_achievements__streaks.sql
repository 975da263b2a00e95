-- Runs of consecutive days or weeks (the brand's time zone) with at least one qualifying action,
-- for streak achievements.
with units as (
    select distinct q.profile_id, q.achievement_config_id, a.streak_unit,
        cast(date_trunc(a.streak_unit, q.local_time) as date) as unit_start
    from {{ ref('int_achievements__qualifying_events') }} as q
    inner join {{ ref('int_achievements__configs') }} as a using (achievement_config_id)
    where a.metric = 'streak'
),

islands as (
    select *,
        unit_start - cast(row_number() over (partition by profile_id, achievement_config_id order by unit_start)
                          * case streak_unit when 'week' then 7 else 1 end as integer) as island
    from units
)

select profile_id, achievement_config_id, any_value(streak_unit) as streak_unit,
    min(unit_start) as run_start, max(unit_start) as run_end, count(*) as run_length
from islands
group by profile_id, achievement_config_id, island
