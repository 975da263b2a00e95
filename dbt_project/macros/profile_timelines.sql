{#- Keeping each profile's timeline (profile_journey) as identity resolution moves events between profiles: a
    timeline that changed is cut at its first change, and the model appends the rest of it (see the model). -#}

{#- The last resolution int_identity__profile_events applied, as a subquery: what a timeline row written now reflects. -#}
{% macro events_resolution() -%}
    (select cast(coalesce(max(resolution), 0) as bigint) from {{ ref('int_identity__profile_events') }})
{%- endmacro %}

{#- Where the timelines of `relation` changed since it applied resolution `applied`, as (profile_id, changed_at)
    rows (the earliest of a profile's counts): the time of each event that arrived in a timeline or left it (events
    int_identity__profile_events wrote since, with the profile identity.record_profile_changes says it left); each
    product row whose product is no longer named or filed as the timeline shows; and the whole timeline of a profile
    whose steps have a hole (erasure deleted an event inside a timeline that remains). -#}
{% macro timeline_changes(relation, applied) -%}
    select e.profile_id, e.occurred_at as changed_at
    from {{ ref('int_identity__profile_events') }} as e
    where e.resolution > {{ applied }} and e.profile_id is not null
    union all
    select c.previous_profile_id as profile_id, e.occurred_at as changed_at
    from {{ ref('int_identity__profile_events') }} as e
    inner join {{ source('identity', 'record_profile_changes') }} as c
        on c.source = 'action_log' and c.brand_id = e.brand_id and c.record_id = e.event_id and c.resolution > {{ applied }}
    where e.resolution > {{ applied }} and c.previous_profile_id is not null
    union all
    select j.profile_id, j.occurred_at as changed_at
    from {{ relation }} as j
    left join {{ ref('stg_app__products') }} as p on p.product_id = j.product_id
    where j.product_id is not null
        and (j.product_name is distinct from p.product_name or j.product_form is distinct from p.product_form)
    union all
    select t.profile_id, min(t.occurred_at) as changed_at
    from {{ relation }} as t
    group by t.profile_id
    having count(*) <> max(t.step)
{%- endmacro %}

{#- Pre-hook of profile_journey: every timeline that changed since the table's last resolution loses its rows from
    its first change on, and erased profiles' timelines go (erasure deletes them too; the table keeps its promise by
    itself). Rebuilt whole when the events' changes since are not all kept (macros/record_changes.sql). -#}
{% macro forget_changed_timeline_ends(relation) -%}
    {%- if execute -%}
        {%- set applied = synergy.applied_resolution(relation) -%}
        {%- set cut -%}
            profile_id in (select profile_id from {{ ref('int_identity__erased_profiles') }})
            or occurred_at >= (select min(c.changed_at) from ({{ synergy.timeline_changes(relation, applied) }}) as c
                               where c.profile_id = {{ relation.identifier }}.profile_id)
        {%- endset -%}
        {{ synergy.forget_rows_since(relation, applied, synergy.events_resolution(), cut) }}
    {%- endif -%}
{%- endmacro %}
