{#- How a mart that only publishing reads is materialized. On DuckDB a view: publishing reads every row
    once, so the rows are computed where they are read instead of written to the warehouse and read back
    (the card documents are gigabytes of JSON at a million members). On Spark a table: the Python stages
    read Spark's Parquet files, and a view has none. -#}
{% macro published_materialization() -%}
    {{ return(adapter.dispatch('published_materialization', 'synergy')()) }}
{%- endmacro %}
{% macro default__published_materialization() -%}{{ return('view') }}{%- endmacro %}
{% macro spark__published_materialization() -%}{{ return('table') }}{%- endmacro %}
