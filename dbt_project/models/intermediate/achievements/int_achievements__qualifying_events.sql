-- Every (member, achievement, action) where the action counts towards the achievement: the
-- right event type, the config that applies in the member's brand, and every filter passes. Filters
-- compare as numbers when both sides are numbers, else as text.
with events as (
    select m.profile_id, m.user_id, e.brand_id, e.event_id, e.occurred_at, e.action_type,
        timezone(b.timezone, e.occurred_at) as local_time,
        map {
            'product_id': cast(e.product_id as varchar), 'product_form': p.product_form, 'strain_type': p.strain_type,
            'strain_name': p.strain_name, 'product_line': p.product_line, 'amount': cast(e.amount as varchar),
            'msrp': cast(p.msrp as varchar), 'channel': e.channel, 'reward_id': cast(e.reward_id as varchar),
            'dominant_terpene': p.dominant_terpene
        } as attributes
    from {{ ref('int_identity__profile_events') }} as e
    inner join {{ ref('int_features__members') }} as m using (profile_id)
    inner join {{ ref('stg_app__brands') }} as b on b.brand_id = e.brand_id
    left join {{ ref('stg_app__products') }} as p on p.product_id = e.product_id
    where e.occurred_at <= {{ as_of() }}
),

candidates as (
    select e.*, a.achievement_config_id, a.field
    from events as e
    inner join {{ ref('int_achievements__brand_configs') }} as bc on bc.brand_id = e.brand_id
    inner join {{ ref('int_achievements__configs') }} as a
        on a.achievement_config_id = bc.achievement_config_id and list_contains(a.events, e.action_type)
),

failed as (
    select c.profile_id, c.event_id, c.achievement_config_id
    from candidates as c
    inner join {{ ref('int_achievements__filters') }} as f using (achievement_config_id)
    where not coalesce(
        case when try_cast(c.attributes[f.attribute] as double) is not null and try_cast(f.value as double) is not null
             then {{ compare('try_cast(c.attributes[f.attribute] as double)', 'f.operator', 'try_cast(f.value as double)') }}
             else {{ compare('c.attributes[f.attribute]', 'f.operator', 'f.value') }} end,
        false)
)

select c.profile_id, c.user_id, c.brand_id, c.achievement_config_id, c.event_id, c.occurred_at, c.local_time,
    c.attributes[c.field] as field_value
from candidates as c
anti join failed as f using (profile_id, event_id, achievement_config_id)
