{#- Keeping a table of aggregates per profile over the events (profile_channel_stats, int_kpis__member_days,
    int_features__engagement_by_profile) as
    identity resolution and new data change them: a build deletes every row of a profile whose aggregates may have
    changed, and the model computes again every profile the table then holds no row of. Most profiles have no new
    event on a given day, and their rows stay as they were. The table carries `resolution` (the last resolution the
    events applied when it was written, macros/record_changes.sql) and `inputs_digest` (everything else its rows
    depend on). -#}

{#- The profiles whose events changed since resolution `applied`: those of the events int_identity__profile_events
    wrote since (new events, and events whose record identity resolution gave another profile), and the profiles
    those events left (identity.record_profile_changes). -#}
{% macro profiles_with_changed_events(applied) -%}
    select profile_id from {{ ref('int_identity__profile_events') }}
    where resolution > {{ applied }} and profile_id is not null
    union all
    select previous_profile_id as profile_id from {{ source('identity', 'record_profile_changes') }}
    where source = 'action_log' and resolution > {{ applied }} and previous_profile_id is not null
{%- endmacro %}

{#- Pre-hook of a table of aggregates per profile. When `digest` (SQL) differs from the one its rows were written
    under, every row goes and the model writes them all again. Otherwise the rows go of the profiles whose events
    changed since the resolution the table last applied, of erased profiles, and of the profiles `also_changed`
    (a SELECT of profile_id, or none) names. Rebuilt whole when the events' changes since are not all kept
    (macros/record_changes.sql). -#}
{% macro forget_changed_profiles(relation, digest, also_changed=none) -%}
    {%- if execute -%}
        {#- First: on a table built before it kept its rows, this asks for a full refresh. -#}
        {%- set applied = synergy.applied_resolution(relation) -%}
        {%- set changed -%}
            profile_id in (
                {{ synergy.profiles_with_changed_events(applied) }}
                union all
                select profile_id from {{ ref('int_identity__erased_profiles') }}
                {%- if also_changed %}
                union all
                {{ also_changed }}
                {%- endif %})
        {%- endset -%}
        {{ synergy.forget_stale_rows(relation, digest, 'inputs', changed, applied) }}
    {%- endif -%}
{%- endmacro %}

{#- The profiles of `profiles` (a SELECT of profile_id) that the model's table holds no row of, in parentheses:
    incrementally, the profiles whose rows the pre-hook deleted, new ones, and any never computed. -#}
{% macro profiles_without_rows(profiles) -%}
    ({{ profiles }}
     except
     select profile_id from {{ this }})
{%- endmacro %}

{#- What profile_channel_stats depends on besides the events: the products' categories. -#}
{% macro channel_stats_inputs_digest() -%}
    cast({{ rows_digest(ref('stg_app__products'), ['product_id', 'product_form']) }} as {{ text_type() }})
{%- endmacro %}

{#- What int_kpis__member_days depends on besides the events and the members: the brands' time zones, the products'
    prices (a scan's purchase value) and the as-of var. -#}
{% macro member_days_inputs_digest() -%}
    cast({{ rows_digest(ref('stg_app__brands'), ['brand_id', 'timezone']) }}
         + {{ rows_digest(ref('stg_app__products'), ['product_id', 'msrp']) }} as {{ text_type() }})
    || '{{ var("as_of", "") }}'
{%- endmacro %}

{#- The profiles of int_kpis__member_days whose rows may no longer match their member row: no longer a member, or
    whose sign-up row is not the one their member row gives now (a sign-up day or brand that changed, or a member
    signed up by the as-of time whose sign-up row is missing). -#}
{% macro member_days_changed_signups(relation) -%}
    select profile_id from (
        select d.profile_id, d.brand_id, d.day from {{ relation }} as d where d.is_signup_day
        except
        select m.profile_id, m.brand_id, {{ local_date('m.created_at', 'b.timezone') }} as day
        from {{ ref('int_features__members') }} as m
        inner join {{ ref('stg_app__brands') }} as b using (brand_id)
        where m.created_at <= {{ as_of() }})
    union all
    select profile_id from (
        select m.profile_id, m.brand_id, {{ local_date('m.created_at', 'b.timezone') }} as day
        from {{ ref('int_features__members') }} as m
        inner join {{ ref('stg_app__brands') }} as b using (brand_id)
        where m.created_at <= {{ as_of() }}
        except
        select d.profile_id, d.brand_id, d.day from {{ relation }} as d where d.is_signup_day)
    union all
    select profile_id from (
        select profile_id from {{ relation }}
        except
        select profile_id from {{ ref('int_features__members') }})
{%- endmacro %}
