-- Every (member, achievement, action) where the action counts towards the achievement: the right event type, the
-- config that applies in the member's brand, and every filter passes. Filters compare as numbers when both sides
-- are numbers, else as text. Actions meet achievements by (brand, action type), so each action is paired only
-- with the achievements that count it.
with config_actions as (
    select bc.brand_id, a.achievement_config_id, a.field, {{ unnest_list('a.events') }} as action_type
    from {{ ref('int_achievements__brand_configs') }} as bc
    inner join {{ ref('int_achievements__configs') }} as a using (achievement_config_id)
),

candidates as (
    select m.profile_id, m.user_id, e.brand_id, e.event_id, e.occurred_at, e.action_type,
        {{ local_timestamp('e.occurred_at', 'b.timezone') }} as local_time, ca.achievement_config_id, ca.field,
        e.product_id, e.amount, e.channel, e.reward_id,
        p.product_form, p.strain_type, p.strain_name, p.product_line, p.msrp, p.dominant_terpene
    from {{ ref('int_identity__profile_events') }} as e
    inner join config_actions as ca on ca.brand_id = e.brand_id and ca.action_type = e.action_type
    inner join {{ ref('int_features__members') }} as m using (profile_id)
    inner join {{ ref('stg_app__brands') }} as b on b.brand_id = e.brand_id
    left join {{ ref('stg_app__products') }} as p on p.product_id = e.product_id
    where e.occurred_at <= {{ as_of() }}
)

-- An action counts unless one of its achievement's filters fails. NOT EXISTS keeps this to one pass
-- over the candidates (an anti join against the failures read them twice, and they are the widest rows here).
select c.profile_id, c.user_id, c.brand_id, c.achievement_config_id, c.event_id, c.occurred_at, c.local_time,
    {{ event_attribute('c.field') }} as field_value
from candidates as c
where not exists (
    select 1
    from {{ ref('int_achievements__filters') }} as f
    where f.achievement_config_id = c.achievement_config_id
        and not coalesce(
            case when try_cast({{ event_attribute('f.attribute') }} as double) is not null and try_cast(f.value as double) is not null
                 then {{ compare('try_cast(' ~ event_attribute('f.attribute') ~ ' as double)', 'f.operator', 'try_cast(f.value as double)') }}
                 else {{ compare(event_attribute('f.attribute'), 'f.operator', 'f.value') }} end,
            false)
)
