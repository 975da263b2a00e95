{#- The build's reference time: var('as_of') when given, else the newest action in the data, so
    a rebuild of the same input gives the same answers whatever the wall clock says.
    The newest action is read when the model compiles, which is just before it runs, once the action-log
    staging it depends on is built, and written as a literal: as a subquery, the planner cannot estimate
    what a comparison with it keeps, and its guess of a few hundred rows out of millions turned joins
    the wrong way round (a 19M-row build side for a 120-row lookup). Where the literal cannot be known
    (parsing, a unit test's fixtures, nothing built yet), the subquery gives the same answer. -#}
{% macro as_of() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as {{ instant_type() }})
    {%- else -%}
        {%- set action_logs = ref('stg_app__action_logs') -%}
        {%- set newest_action = '(select max(occurred_at) from ' ~ action_logs ~ ')' -%}
        {%- set built = synergy.built_action_logs(action_logs) -%}
        {%- if built is none -%}
            {{ newest_action }}
        {%- else -%}
            {{ synergy.newest_instant(built, 'occurred_at', newest_action) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The built action-log staging, or none: when not executing, in a unit test (whose fixtures stand in for the
    table), when the table is not built. -#}
{% macro built_action_logs(action_logs) -%}
    {%- if not execute or (model is defined and model.resource_type == 'unit_test') -%}{{ return(none) }}{%- endif -%}
    {{ return(adapter.get_relation(database=action_logs.database, schema=action_logs.schema,
                                   identifier=action_logs.identifier)) }}
{%- endmacro %}

{#- The newest `column` of `relation` as a literal, read when the model compiles (`otherwise`, SQL, when the table holds
    no row): a literal lets the planner estimate what a comparison with it keeps. Read as text that casts back to the
    same instant (in the session's time zone, UTC on both engines). -#}
{% macro newest_instant(relation, column, otherwise) -%}
    {%- set newest = run_query('select cast(max(' ~ column ~ ') as ' ~ text_type() ~ ') from ' ~ relation).columns[0].values()[0] -%}
    {%- if newest is none -%}{{ otherwise }}{%- else -%}cast('{{ newest }}' as {{ instant_type() }}){%- endif -%}
{%- endmacro %}
