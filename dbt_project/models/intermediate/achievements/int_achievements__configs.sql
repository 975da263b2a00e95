-- Active achievement configs with their criteria unpacked into columns: the criteria language
-- (metric, events, field, operator, target, timeframe, streak unit, tiers, repeatable) and the
-- optional gate on a Customer.io prediction.
with configs as (
    select *, cast(criteria as json) as c, cast(ai_enhancement as json) as ai
    from {{ ref('stg_app__achievement_configs') }}
    where is_active
)

select
    achievement_config_id,
    brand_id,
    achievement_key,
    achievement_name,
    achievement_type,
    c ->> '$.metric' as metric,
    case when json_type(c -> '$.event') = 'ARRAY' then cast(c -> '$.event' as varchar[])
         else [c ->> '$.event'] end as events,
    c ->> '$.field' as field,
    coalesce(c ->> '$.operator', '>=') as operator,
    cast(c ->> '$.value' as double) as target,
    coalesce(c ->> '$.timeframe.type', 'all_time') as timeframe,
    cast(c ->> '$.timeframe.days' as integer) as rolling_days,
    c ->> '$.timeframe.period' as calendar_period,
    coalesce(c ->> '$.unit', 'day') as streak_unit,
    coalesce(cast(c ->> '$.repeatable' as boolean), false) as repeatable,
    (select list(cast(t ->> '$.value' as double) order by cast(t ->> '$.value' as double))
     from (select unnest(cast(c -> '$.tiers' as json[])) as t)) as tier_targets,
    c -> '$.filters' as filters,
    ai ->> '$.gate.prediction' as gate_prediction,
    coalesce(ai ->> '$.gate.operator', '>=') as gate_operator,
    cast(ai ->> '$.gate.value' as double) as gate_value,
    cast(rewards ->> '$.points' as integer) as reward_points
from configs
