{#- Model contracts declare DuckDB's type names (varchar, timestamp with time zone, json, varchar[],
    map(varchar, double)); on Spark the contract check casts to the Spark type of each, so one contract
    holds on both engines. -#}
{% macro spark__get_empty_schema_sql(columns) %}
    {%- set missing = [] -%}
    select
    {%- for name in columns -%}
        {%- set column = columns[name] -%}
        {%- if column['data_type'] is not defined -%}{%- do missing.append(column['name']) -%}{%- endif %}
        cast(null as {{ spark_type_of(column['data_type'] or '') }}) as {{ adapter.quote(column['name']) if column.get('quote') else column['name'] }}{{ ", " if not loop.last }}
    {%- endfor -%}
    {%- if missing -%}{{ exceptions.column_type_missing(column_names=missing) }}{%- endif -%}
{% endmacro %}

{#- The Spark type of a DuckDB type name: text and JSON are strings, an instant is a timestamp, T[] an
    array, map(K, V) a map, integer an int; the rest are spelled the same. -#}
{% macro spark_type_of(duckdb_type) -%}
    {%- set type = duckdb_type | trim | lower -%}
    {%- set names = {'varchar': 'string', 'json': 'string', 'timestamp with time zone': 'timestamp',
                     'timestamptz': 'timestamp', 'integer': 'int'} -%}
    {%- if type.endswith('[]') -%}
        array<{{ spark_type_of(type[:-2]) }}>
    {%- elif type.startswith('map(') -%}
        {%- set key, value = type[4:-1].split(',', 1) -%}
        map<{{ spark_type_of(key) }}, {{ spark_type_of(value) }}>
    {%- else -%}
        {{ names.get(type, type) }}
    {%- endif -%}
{%- endmacro %}
