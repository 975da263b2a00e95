-- Every completion found in the history: the first action that met the target in each window
-- (all time: once; each calendar period; rolling windows: the first time), and for streaks the
-- unit that brought each run to the target. Non-repeatable achievements keep their first one.
with windowed as (
    select profile_id, achievement_config_id, window_key, completed_at
    from {{ ref('int_achievements__window_completions') }}
),

streak_runs as (
    select s.profile_id, s.achievement_config_id, cast(s.run_start as {{ text_type() }}) as window_key,
        cast(s.run_start + cast((a.target - 1) * case a.streak_unit when 'week' then 7 else 1 end as integer)
             as {{ instant_type() }}) as completed_at
    from {{ ref('int_achievements__streaks') }} as s
    inner join {{ ref('int_achievements__configs') }} as a using (achievement_config_id)
    where {{ compare('s.run_length', 'a.operator', 'a.target') }}
),

all_completions as (
    select * from windowed union all select * from streak_runs
)

select c.profile_id, m.brand_id, m.user_id, c.achievement_config_id, a.achievement_key, c.window_key,
    c.completed_at, a.reward_points
from all_completions as c
inner join {{ ref('int_achievements__configs') }} as a using (achievement_config_id)
inner join {{ ref('int_features__members') }} as m using (profile_id)
qualify a.repeatable or row_number() over (partition by c.profile_id, c.achievement_config_id order by c.completed_at) = 1
