{#- Following identity resolution's change log (identity.resolutions, identity.record_profile_changes;
    identity/record_changes.py) in a model that keeps one row per action-log event and, in a `resolution` column,
    the last resolution applied when the row was written. -#}

{#- The last resolution `relation` applied, read when the model is compiled: before its pre-hook deletes anything,
    so the model and its pre-hook name the same changed records. -#}
{% macro applied_resolution(relation) -%}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- if 'resolution' not in adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {{ exceptions.raise_compiler_error(relation ~ ' was built before it followed identity resolution: '
                                           ~ 'rebuild it once with `synergy run --full-refresh`') }}
    {%- endif -%}
    {{ return(run_query('select coalesce(max(resolution), 0) from ' ~ relation).columns[0].values()[0]) }}
{%- endmacro %}

{#- The latest resolution, which the rows a run writes have applied. -#}
{% macro latest_resolution() -%}
    (select coalesce(max(resolution), 0) from {{ source('identity', 'resolutions') }})
{%- endmacro %}

{#- The action-log records resolution gave another profile after resolution `applied`, as a subquery. -#}
{% macro changed_records(applied) -%}
    (select distinct brand_id, record_id from {{ source('identity', 'record_profile_changes') }}
     where source = 'action_log' and resolution > {{ applied }})
{%- endmacro %}

{#- Deletes the rows of `relation`, a table following the log that last applied resolution `applied`, for which
    `condition` (SQL text) holds. Every row goes instead when some change after `applied`, up to resolution `upto`
    (SQL), is no longer kept, or when `applied` is later than `upto` (the resolutions were numbered anew): the
    table is then rebuilt whole. -#}
{% macro forget_rows_since(relation, applied, upto, condition) -%}
    {%- set dropped = run_query('select 1 from ' ~ source('identity', 'resolutions') ~ ' where (resolution > ' ~ applied
                                ~ ' and resolution <= ' ~ upto ~ ' and not changes_kept) or ' ~ applied ~ ' > ' ~ upto
                                ~ ' limit 1') -%}
    {%- if dropped.rows | length > 0 -%}
        {{ log(relation ~ ' last applied resolution ' ~ applied ~ ', whose later changes are not all kept: rebuilt whole', info=true) }}
        {{ synergy.delete_rows(relation, 'true') }}
    {%- else -%}
        {{ synergy.delete_rows(relation, condition) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of int_identity__profile_events: the events of records changed since the table's last resolution go,
    and the run appends them again with their profile now; so do the events of erased profiles (erasure deletes
    them too; the table keeps its promise by itself). -#}
{% macro forget_events_of_changed_records(relation) -%}
    {%- if execute -%}
        {%- set applied = synergy.applied_resolution(relation) -%}
        {%- set forgotten -%}
            exists (select 1 from {{ synergy.changed_records(applied) }} as c
                    where c.brand_id = {{ relation.identifier }}.brand_id and c.record_id = {{ relation.identifier }}.event_id)
            or profile_id in (select profile_id from {{ ref('int_identity__erased_profiles') }})
        {%- endset -%}
        {{ synergy.forget_rows_since(relation, applied, synergy.latest_resolution(), forgotten) }}
    {%- endif -%}
{%- endmacro %}
