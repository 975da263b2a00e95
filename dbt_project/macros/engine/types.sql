{#- Column types whose names differ: DuckDB's varchar is Spark's string, DuckDB's timestamptz (an
    instant) is Spark's timestamp (an instant shown in the session time zone, UTC). -#}

{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type', 'synergy')()) }}
{%- endmacro %}
{% macro default__text_type() -%} varchar {%- endmacro %}
{% macro spark__text_type() -%} string {%- endmacro %}

{% macro instant_type() -%}
    {{ return(adapter.dispatch('instant_type', 'synergy')()) }}
{%- endmacro %}
{% macro default__instant_type() -%} timestamptz {%- endmacro %}
{% macro spark__instant_type() -%} timestamp {%- endmacro %}
