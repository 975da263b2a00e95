{#- Building JSON documents. DuckDB builds JSON values. Spark builds VARIANT values (a struct or a map made a
    variant object), which nest in one another as JSON values do, and its objects list their keys sorted;
    stored_json turns the outermost into JSON text, the type a document has on Spark. -#}

{#- An object of the pairs in the call block, written as json_object's arguments ('key', value, ...); a
    value may be another built object. {% call json_object() %}'a', x, 'b', y{% endcall %}. With
    stored=true, the object as a model stores it (stored_json). -#}
{% macro json_object(stored=false) -%}
    {%- set built = adapter.dispatch('json_object', 'synergy')(caller()) -%}
    {{ return(synergy.stored_json(built) if stored else built) }}
{%- endmacro %}
{% macro default__json_object(pairs) -%} json_object({{ pairs }}) {%- endmacro %}
{% macro spark__json_object(pairs) -%}
    {%- if pairs | trim -%} to_variant_object(named_struct({{ pairs }})) {%- else -%} parse_json('{}') {%- endif -%}
{%- endmacro %}

{#- An aggregate: the object of each row's `key` and `value` of a group. -#}
{% macro json_group_object(key, value) -%}
    {{ return(adapter.dispatch('json_group_object', 'synergy')(key, value)) }}
{%- endmacro %}
{% macro default__json_group_object(key, value) -%} json_group_object({{ key }}, {{ value }}) {%- endmacro %}
{% macro spark__json_group_object(key, value) -%}
    to_variant_object(map_from_entries(collect_list(struct({{ key }}, {{ value }}))))
{%- endmacro %}

{#- The value at `path` of a stored document (JSON text on Spark), as a value to nest in a built object. -#}
{% macro json_nested(document, path) -%}
    {{ return(adapter.dispatch('json_nested', 'synergy')(document, path)) }}
{%- endmacro %}
{% macro default__json_nested(document, path) -%} {{ document }} -> '{{ path }}' {%- endmacro %}
{% macro spark__json_nested(document, path) -%}
    try_variant_get(try_parse_json({{ document }}), '{{ path }}', 'variant')
{%- endmacro %}

{#- A built document as a model stores it: DuckDB's JSON value itself, Spark's JSON text. -#}
{% macro stored_json(value) -%}
    {{ return(adapter.dispatch('stored_json', 'synergy')(value)) }}
{%- endmacro %}
{% macro default__stored_json(value) -%} {{ value }} {%- endmacro %}
{% macro spark__stored_json(value) -%} to_json({{ value }}) {%- endmacro %}
