{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_events_of_changed_records(this) }}{% endif %}") }}
-- Every action with the profile it resolved to and the identifier type that tied it (actions without any
-- usable identifier have neither),
-- except the actions of erased members. Only the columns the Customer 360, feature, achievement and
-- card models read: the raw identifiers, addresses and user agents stay in staging.
-- Incremental: a run appends the events of landing files it has not seen, and the events whose record identity
-- resolution gave another profile since the last resolution this table applied (`resolution`), which its
-- pre-hook deleted first (macros/record_changes.sql); a merge moves a few old events instead of every event
-- being joined again. After the pre-hook deleted every row (changes no longer kept), every file is new.
-- Erasure deletes erased members' events here too. A full refresh gives the same rows.
{% set applied = applied_resolution(this) if is_incremental() else none %}
with actions as (
    select * from {{ ref('stg_app__action_logs') }} as a
    {%- if is_incremental() %}
    -- The actions this run appends, picked before they meet their records: with this filter after the join, the
    -- planner joined every action first (5 s at 1M with nothing new).
    where a.source_file_id not in (select distinct source_file_id from {{ this }})
        or exists (select 1 from {{ changed_records(applied) }} as c
                   where c.brand_id = a.brand_id and c.record_id = a.event_id)
    {%- endif %}
)

select a.event_id, a.brand_id, a.user_id, a.action_type, a.occurred_at, a.channel, a.product_id, a.reward_id,
    a.points_awarded, a.amount, a.context, rp.profile_id, rp.matched_by, a.source_file_id,
    {{ latest_resolution() }} as resolution
from actions as a
left join {{ source('identity', 'record_profiles') }} as rp
    on rp.source = 'action_log' and rp.brand_id = a.brand_id and rp.record_id = a.event_id
where (rp.profile_id is null or rp.profile_id not in (select profile_id from {{ ref('int_identity__erased_profiles') }}))
