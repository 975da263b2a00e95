{#- Tables earlier versions of the project built and this one does not (schema, name). A build drops them before it
    runs: no build would update them again, and erasure (erasure/redact.py) would not reach the members' rows left
    in them. -#}
{% macro retired_relations() -%}
    {{ return([('intermediate', 'int_achievements__running')]) }}
{%- endmacro %}

{% macro drop_retired_relations() -%}
    {%- if execute -%}
        {%- set database = (graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | first).database -%}
        {%- for schema, name in synergy.retired_relations() -%}
            {%- set relation = adapter.get_relation(database, schema, name) -%}
            {%- if relation is not none -%}
                {{ log('Dropping ' ~ relation ~ ': no longer built', info=true) }}
                {%- do adapter.drop_relation(relation) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
