{#- Unit-test fixtures give lists and maps as JSON text ('["a", "b"]', '[1.0, 3.0]', '{"a": 0.5}'). DuckDB casts a list's
    text to a list; a map's text is read as JSON first (DuckDB's own text for a map is '{a=0.5}'). Spark
    cannot cast text to an array, map or struct, so there such a value is parsed as JSON into the column's type
    (dbt-spark's own cast strips the quotes and leaves `[...]`, which is not Spark SQL). Other values are cast,
    as dbt-spark casts them. -#}
{% macro spark__safe_cast(field, type) -%}
    {%- if field is string and field.startswith("'") and type.lower().startswith(('array', 'map', 'struct')) -%}
        from_json({{ field }}, '{{ type }}')
    {%- else -%}
        cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__safe_cast(field, type) -%}
    {%- if field is string and field.startswith("'") and type.lower().startswith('map') -%}
        cast(cast({{ field }} as json) as {{ type }})
    {%- else -%}
        cast({{ field }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
