{#- The build's reference time: var('as_of') when given, else the newest action in the data, so
    a rebuild of the same input gives the same answers whatever the wall clock says. -#}
{% macro as_of() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as {{ instant_type() }})
    {%- else -%}
        (select max(occurred_at) from {{ ref('stg_app__action_logs') }})
    {%- endif -%}
{%- endmacro %}
