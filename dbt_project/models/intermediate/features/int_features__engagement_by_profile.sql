{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_changed_profiles(this, engagement_inputs_digest(),
                                                                         engagement_window_changes(this)) }}{% endif %}") }}
-- The engagement window's aggregates per profile (var engagement_window_days), from the seeds' list: sessions,
-- session length, action diversity, time consistency, product exploration, category and time-of-day preferences,
-- feature affinities. Only the profiles with an action in the window have a row; int_features__engagement gives
-- every member theirs, with what depends on the day (sessions per week).
-- The window's events are read once into a narrow table, then summarised three ways (by profile, by local day,
-- by product); shares divide by the profile's total, not a window function.
-- Incremental: a build computes again only the profiles whose events changed since the resolution this table last
-- applied (new events, events moved by identity resolution), those with an action that entered or left the window
-- since the as-of time the table last applied (`window_ends_at`), and those it holds no row of; the pre-hook deleted
-- the changed ones' rows (macros/profile_aggregates.sql). Everything is written again when the brands' time zones,
-- the products or the window changed (`inputs_digest`). A full refresh gives the same rows.
-- depends_on: {{ ref('int_identity__erased_profiles') }}, {{ source('identity', 'resolutions') }}
-- depends_on: {{ source('identity', 'record_profile_changes') }}
{#- Each part of the local day, and each feature, with the condition that counts an event in it. -#}
{%- set parts_of_day = {
    'morning': 'hour(local_time) between 5 and 11',
    'afternoon': 'hour(local_time) between 12 and 16',
    'evening': 'hour(local_time) between 17 and 21',
    'night': 'not coalesce(hour(local_time) between 5 and 21, false)',
} %}
{%- set features = {
    'scans': "action_type = 'product_scanned'",
    'referrals': "action_type like 'referral_%'",
    'wishlists': "action_type like 'wishlist_%'",
    'rewards': "action_type = 'reward_redeemed'",
    'achievements': "action_type = 'achievement_unlocked'",
    'cards': "action_type like 'card_%'",
} %}
with
{%- if is_incremental() %}
-- The profiles this build computes: those with an action in the window the table holds no row of once the pre-hook ran.
written as {{ materialized_cte() }} {{ profiles_without_rows('select profile_id from ' ~ ref('int_identity__profile_events')
                                                             ~ ' where profile_id is not null and ' ~ in_engagement_window('occurred_at')) }},
{%- endif %}

events as {{ materialized_cte() }} (
    select e.profile_id, e.brand_id, e.action_type, e.product_id,
        {{ local_timestamp('e.occurred_at', 'b.timezone') }} as local_time,
        case when e.action_type = 'user_session_ended' then try_cast({{ json_text('e.context', '$.duration_seconds') }} as double) end
            as session_seconds
    from {{ ref('int_identity__profile_events') }} as e
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
    where e.profile_id is not null and {{ in_engagement_window('e.occurred_at') }}
    {%- if is_incremental() %} and e.profile_id in (select profile_id from written){% endif %}
),

-- One pass over the window's events for everything counted per profile: its total, its sessions, the session
-- length (only session ends carry one), its actions by type (for the action diversity), and by part of day and by
-- feature (for the two maps below).
totals as (
    select profile_id, count(*) as total,
        count(*) filter (where action_type = 'user_session_started') as sessions,
        {%- for action_type in var('action_types') %}
        count(*) filter (where action_type = '{{ action_type }}') as {{ action_type }}_actions,
        {%- endfor %}
        avg(session_seconds) as avg_session_seconds,
        {%- for name, condition in parts_of_day.items() %}
        count(*) filter (where {{ condition }}) as {{ name }},
        {%- endfor %}
        {%- for name, condition in features.items() %}
        count(*) filter (where {{ condition }}) as {{ name }},
        {%- endfor %}
        count(*) filter (where {{ features.values() | join(' or ') }}) as feature_actions
    from events
    group by all
),

-- Normalized Shannon entropy of the action mix: 0 = one kind of action, 1 = all kinds evenly. Never negative:
-- abs() makes the -0 of a single kind of action (minus 1 * ln 1) a 0. A kind never seen adds nothing; staging accepts
-- no action type outside the var.
diversity as (
    select profile_id, abs(
        {%- for action_type in var('action_types') %}
        coalesce(({{ action_type }}_actions / total) * ln(nullif({{ action_type }}_actions, 0) / total), 0)
        {{- ' +' if not loop.last }}
        {%- endfor %}
        ) / ln({{ var('action_types') | length }}) as action_diversity
    from totals
),

-- Regular rhythm: 1 / (1 + coefficient of variation of the gaps between active days).
consistency as (
    select profile_id, case when count(gap) >= 2 then 1 / (1 + coalesce(stddev_pop(gap) / nullif(avg(gap), 0), 0)) end
        as time_consistency
    from (select profile_id, {{ days_between('lag(day) over (partition by profile_id order by day)', 'day') }} as gap
          from (select distinct profile_id, cast(local_time as date) as day from events))
    group by all
),

by_product as (
    select profile_id, any_value(brand_id) as brand_id, product_id, count(*) as n
    from events where product_id is not null group by profile_id, product_id
),

catalog as (
    select brand_id, count(*) as products from {{ ref('stg_app__products') }} group by all
),

exploration as (
    select x.profile_id, count(*) / any_value(c.products) as product_exploration
    from by_product as x inner join catalog as c using (brand_id)
    group by all
),

categories as (
    select profile_id, {{ sorted_map('product_form', round_double('n / total', 4)) }} as category_preferences
    from (select x.profile_id, p.product_form, sum(x.n) as n, sum(sum(x.n)) over (partition by x.profile_id) as total
          from by_product as x inner join {{ ref('stg_app__products') }} as p using (product_id)
          group by x.profile_id, p.product_form)
    group by all
)

select
    t.profile_id,
    t.sessions,
    t.avg_session_seconds,
    {{ round_double('d.action_diversity', 4) }} as action_diversity,
    {{ round_double('c.time_consistency', 4) }} as time_consistency,
    {{ round_double('coalesce(x.product_exploration, 0)', 4) }} as product_exploration,
    cp.category_preferences,
    {{ shares_map(parts_of_day.keys(), 't', 't.total', 4) }} as time_of_day_preferences,
    {{ shares_map(features.keys(), 't', 't.feature_actions', 4) }} as feature_affinities,
    {{ as_of() }} as window_ends_at,
    {{ events_resolution() }} as resolution,
    {{ engagement_inputs_digest() }} as inputs_digest
from totals as t
inner join diversity as d using (profile_id)
left join consistency as c using (profile_id)
left join exploration as x using (profile_id)
left join categories as cp using (profile_id)
