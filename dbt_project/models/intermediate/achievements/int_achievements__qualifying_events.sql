{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_stale_qualifying_events(this) }}{% endif %}") }}
-- Every (member, achievement, action) where the action counts towards the achievement: the right event type, the
-- config that applies in the member's brand, and every filter passes. Filters compare as numbers when both sides
-- are numbers, else as text. Actions meet achievements by (brand, action type), so each action is paired only
-- with the achievements that count it.
-- Incremental: a build keeps the rows of the events and members that did not change and appends the rest: the
-- events int_identity__profile_events wrote since the resolution this table last applied (`resolution`: new events
-- and those whose record identity resolution changed), the actions after the last one it holds (the as-of time moved on), and every action
-- of a member it holds no row of (new, merged, or whose rows the pre-hook forgot: macros/qualifying_events.sql).
-- Everything is written again when the achievements, filters, time zones or products changed (`inputs_digest`).
-- A full refresh gives the same rows.
-- depends_on: {{ source('identity', 'resolutions') }}, {{ source('identity', 'record_profile_changes') }}
{%- set event_columns = 'e.profile_id, e.brand_id, e.event_id, e.occurred_at, e.action_type, e.product_id, e.amount, '
                         ~ 'e.channel, e.reward_id' %}
{%- if is_incremental() %}
    {%- set applied = synergy.applied_resolution(this) %}
    {#- Read before the pre-hook runs, as `applied`. The two parts of event_members split the events at this time, so
        together they cover whatever the pre-hook removes; a literal lets the planner estimate what each keeps. -#}
    {%- set last_written_at = synergy.newest_instant(this, 'occurred_at', as_of()) %}
{%- endif %}
with config_actions as (
    select bc.brand_id, a.achievement_config_id, a.field, {{ unnest_list('a.events') }} as action_type
    from {{ ref('int_achievements__brand_configs') }} as bc
    inner join {{ ref('int_achievements__configs') }} as a using (achievement_config_id)
),

-- Each action with the member of its profile; incrementally, only the actions this table may lack.
event_members as (
    select {{ event_columns }}, m.user_id
    from {{ ref('int_identity__profile_events') }} as e
    inner join {{ ref('int_features__members') }} as m using (profile_id)
    where e.occurred_at <= {{ as_of() }}
    {% if is_incremental() %}
        and (e.resolution > {{ applied }} or e.occurred_at > {{ last_written_at }})
    union all
    select {{ event_columns }}, u.user_id
    from {{ ref('int_identity__profile_events') }} as e
    inner join (  -- a set difference, which the planner keeps apart: joined first, all events went through the anti join
        select profile_id, user_id from {{ ref('int_features__members') }}
        except
        select profile_id, user_id from {{ this }}
    ) as u using (profile_id)
    where e.occurred_at <= {{ as_of() }} and e.resolution <= {{ applied }} and e.occurred_at <= {{ last_written_at }}
    {% endif %}
),

candidates as (
    select e.profile_id, e.user_id, e.brand_id, e.event_id, e.occurred_at, e.action_type,
        {{ local_timestamp('e.occurred_at', 'b.timezone') }} as local_time, ca.achievement_config_id, ca.field,
        e.product_id, e.amount, e.channel, e.reward_id,
        p.product_form, p.strain_type, p.strain_name, p.product_line, p.msrp, p.dominant_terpene
    from event_members as e
    inner join config_actions as ca on ca.brand_id = e.brand_id and ca.action_type = e.action_type
    inner join {{ ref('stg_app__brands') }} as b on b.brand_id = e.brand_id
    left join {{ ref('stg_app__products') }} as p on p.product_id = e.product_id
)

-- An action counts unless one of its achievement's filters fails. NOT EXISTS keeps this to one pass
-- over the candidates (an anti join against the failures read them twice, and they are the widest rows here).
select c.profile_id, c.user_id, c.brand_id, c.achievement_config_id, c.event_id, c.occurred_at, c.local_time,
    {{ event_attribute('c.field') }} as field_value,
    {{ achievement_inputs_digest() }} as inputs_digest,
    {{ events_resolution() }} as resolution
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
