{#- Keeping int_achievements__qualifying_events as the events table follows identity resolution: rows are written
    per event, so a build deletes the rows whose event or member changed and appends what is new (see the model). -#}

{#- A digest of everything besides the events that decides which actions count and what they carry: the
    achievements each brand runs, their filters, the brands' time zones and the products' attributes. It changes
    when any of their rows does. Engine-specific values, compared only with the same engine's. -#}
{% macro achievement_inputs_digest() -%}
cast({{ rows_digest(ref('int_achievements__brand_configs') ~ ' as bc inner join ' ~ ref('int_achievements__configs')
                      ~ ' as a using (achievement_config_id)',
                      ['bc.brand_id', 'a.achievement_config_id', 'a.events', 'a.field']) }}
    + {{ rows_digest(ref('int_achievements__filters'), ['achievement_config_id', 'attribute', 'operator', 'value']) }}
    + {{ rows_digest(ref('stg_app__brands'), ['brand_id', 'timezone']) }}
    + {{ rows_digest(ref('stg_app__products'), ['product_id', 'product_form', 'strain_type', 'strain_name', 'product_line',
                                                'msrp', 'dominant_terpene']) }}
    as {{ text_type() }})
{%- endmacro %}

{#- Pre-hook of int_achievements__qualifying_events. When the digest changed, every row goes and the run writes them
    all again. Otherwise the rows go of the events the events table wrote since the resolution this table last
    applied (the model appends exactly those again, with their profile now), of a profile and user that are no longer a
    member (erased, merged away, or the profile's user changed), and of actions after the as-of time. Rebuilt whole
    when the events' changes since are not all kept (macros/record_changes.sql). -#}
{% macro forget_stale_qualifying_events(relation) -%}
    {%- if execute -%}
        {%- set applied = synergy.applied_resolution(relation) -%}
        {%- set row = relation.identifier -%}
        {%- set forgotten -%}
            exists (select 1 from {{ ref('int_identity__profile_events') }} as e
                    where e.resolution > {{ applied }} and e.brand_id = {{ row }}.brand_id
                        and e.event_id = {{ row }}.event_id)
            or not exists (select 1 from {{ ref('int_features__members') }} as m
                           where m.profile_id = {{ row }}.profile_id and m.user_id = {{ row }}.user_id)
            or occurred_at > {{ synergy.as_of() }}
        {%- endset -%}
        {{ synergy.forget_stale_rows(relation, synergy.achievement_inputs_digest(),
                                     'achievements, filters, time zones or products', forgotten, applied) }}
    {%- endif -%}
{%- endmacro %}
