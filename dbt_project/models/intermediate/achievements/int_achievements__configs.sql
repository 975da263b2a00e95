-- Active achievement configs with their criteria unpacked into columns: the criteria language
-- (metric, events, field, operator, target, timeframe, streak unit, tiers, repeatable) and the
-- optional gate on a Customer.io prediction.
with configs as (
    select *, {{ json_from_text('criteria') }} as c, {{ json_from_text('ai_enhancement') }} as ai
    from {{ ref('stg_app__achievement_configs') }}
    where is_active
)

select
    achievement_config_id,
    brand_id,
    achievement_key,
    achievement_name,
    achievement_type,
    {{ json_text('c', '$.metric') }} as metric,
    {{ json_text_list('c', '$.event') }} as events,
    {{ json_text('c', '$.field') }} as field,
    coalesce({{ json_text('c', '$.operator') }}, '>=') as operator,
    cast({{ json_text('c', '$.value') }} as double) as target,
    coalesce({{ json_text('c', '$.timeframe.type') }}, 'all_time') as timeframe,
    cast({{ json_text('c', '$.timeframe.days') }} as integer) as rolling_days,
    {{ json_text('c', '$.timeframe.period') }} as calendar_period,
    coalesce({{ json_text('c', '$.unit') }}, 'day') as streak_unit,
    coalesce(cast({{ json_text('c', '$.repeatable') }} as boolean), false) as repeatable,
    {{ json_sorted_numbers('c', '$.tiers', 'value') }} as tier_targets,
    {{ json_value('c', '$.filters') }} as filters,
    {{ json_text('ai', '$.gate.prediction') }} as gate_prediction,
    coalesce({{ json_text('ai', '$.gate.operator') }}, '>=') as gate_operator,
    cast({{ json_text('ai', '$.gate.value') }} as double) as gate_value,
    cast({{ json_text('rewards', '$.points') }} as integer) as reward_points
from configs
