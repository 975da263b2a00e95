{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_changed_timeline_ends(this) }}{% endif %}") }}
-- The omnichannel timeline: every action of every profile in order, with the channel and
-- the identifier that tied it to the profile.
-- Incremental: each profile's timeline is kept up to its first change, and a run appends the rest of it, numbered on
-- from the steps kept. The pre-hook (macros/profile_timelines.sql) cut each timeline that changed since the
-- resolution this table last applied (`resolution`) at its first change: an event that arrived in it or left it,
-- a product renamed; a new day's events usually only extend timelines, so most rows stay as they were.
-- A full refresh gives the same rows.
-- depends_on: {{ ref('int_identity__erased_profiles') }}, {{ source('identity', 'resolutions') }}
-- depends_on: {{ source('identity', 'record_profile_changes') }}
{% if is_incremental() %}
with kept as (
    select profile_id, max(occurred_at) as last_kept_at, count(*) as kept_steps
    from {{ this }}
    group by profile_id
)
{% endif %}
select
    e.profile_id,
    e.brand_id,
    {% if is_incremental() %}coalesce(k.kept_steps, 0) + {% endif -%}
    {{ row_number('partition by e.profile_id order by e.occurred_at, e.event_id') }} as step,
    e.occurred_at,
    e.channel,
    e.action_type,
    e.event_id,
    e.matched_by,
    e.product_id,
    p.product_name,
    p.product_form,
    e.amount,
    e.points_awarded,
    {{ events_resolution() }} as resolution
from {{ ref('int_identity__profile_events') }} as e
left join {{ ref('stg_app__products') }} as p using (product_id)
{% if is_incremental() %}
left join kept as k using (profile_id)
{% endif %}
where e.profile_id is not null
{% if is_incremental() %}
    -- Every event after the kept part of its profile's timeline (all of it for a profile with none kept): the
    -- timeline up to an event's time is all kept or all cut, so nothing is written twice or left out.
    and (k.last_kept_at is null or e.occurred_at > k.last_kept_at)
{% endif %}
