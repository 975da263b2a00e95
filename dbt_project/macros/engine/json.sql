{#- JSON documents. DuckDB has a JSON type and its arrows; on Spark a document is a string that
    get_json_object reads. Paths are JSONPath ('$.a.b'). -#}

{#- A text column holding a document, as a document. -#}
{% macro json_from_text(text) -%}
    {{ return(adapter.dispatch('json_from_text', 'synergy')(text)) }}
{%- endmacro %}
{% macro default__json_from_text(text) -%} cast({{ text }} as json) {%- endmacro %}
{% macro spark__json_from_text(text) -%} {{ text }} {%- endmacro %}

{#- The value at `path` as text (a scalar's text, a nested value's JSON); null when absent. -#}
{% macro json_text(document, path) -%}
    {{ return(adapter.dispatch('json_text', 'synergy')(document, path)) }}
{%- endmacro %}
{% macro default__json_text(document, path) -%} {{ document }} ->> '{{ path }}' {%- endmacro %}
{% macro spark__json_text(document, path) -%} get_json_object({{ document }}, '{{ path }}') {%- endmacro %}

{#- The value at `path` as a document. -#}
{% macro json_value(document, path) -%}
    {{ return(adapter.dispatch('json_value', 'synergy')(document, path)) }}
{%- endmacro %}
{% macro default__json_value(document, path) -%} {{ document }} -> '{{ path }}' {%- endmacro %}
{% macro spark__json_value(document, path) -%} get_json_object({{ document }}, '{{ path }}') {%- endmacro %}

{#- The texts at several paths as one list, read with one parse of the document on DuckDB
    (list_at takes them apart). -#}
{% macro json_texts(document, paths) -%}
    {{ return(adapter.dispatch('json_texts', 'synergy')(document, paths)) }}
{%- endmacro %}
{% macro default__json_texts(document, paths) -%}
    json_extract_string({{ document }}, [{% for path in paths %}'{{ path }}'{{ ', ' if not loop.last }}{% endfor %}])
{%- endmacro %}
{% macro spark__json_texts(document, paths) -%}
    array({% for path in paths %}get_json_object({{ document }}, '{{ path }}'){{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- A JSON array of objects as a list of records whose `fields` are all text; null when it is not one. -#}
{% macro json_text_records(document, fields) -%}
    {{ return(adapter.dispatch('json_text_records', 'synergy')(document, fields)) }}
{%- endmacro %}
{% macro default__json_text_records(document, fields) -%}
    from_json({{ document }}, '[{ {%- for field in fields %}"{{ field }}": "VARCHAR"{{ ", " if not loop.last }}{% endfor -%} }]')
{%- endmacro %}
{% macro spark__json_text_records(document, fields) -%}
    from_json({{ document }}, 'array<struct<{% for field in fields %}{{ field }}:string{{ "," if not loop.last }}{% endfor %}>>')
{%- endmacro %}
