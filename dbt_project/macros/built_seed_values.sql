{#- The distinct non-null values of `column` in the seed `seed_name` as the warehouse holds it when the model
    compiles; none before the seed is built, while parsing, and in unit tests (which give the seed's rows
    themselves). For SQL that is faster with the values as literals and still right for values it was not
    given (full_match_column). -#}
{% macro built_seed_values(seed_name, column) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set seed = graph.get('nodes', {}).values() | selectattr('resource_type', 'equalto', 'seed')
                   | selectattr('name', 'equalto', seed_name) | first -%}
    {%- if seed is not defined or seed is none -%}{{ return([]) }}{%- endif -%}
    {%- set relation = adapter.get_relation(database=seed.database, schema=seed.schema, identifier=seed.alias) -%}
    {%- if relation is none -%}{{ return([]) }}{%- endif -%}
    {%- set values = run_query('select distinct ' ~ column ~ ' from ' ~ relation ~ ' where ' ~ column ~ ' is not null') -%}
    {{ return(values.columns[0].values() | sort) }}
{%- endmacro %}
