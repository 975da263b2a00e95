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

{#- numerator / denominator as a double, parenthesized. DuckDB's `/` gives a double whatever its operands;
    Spark's keeps a decimal (a literal such as 7.0 is one) a decimal. -#}
{% macro ratio(numerator, denominator) -%}
    {{ return(adapter.dispatch('ratio', 'synergy')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__ratio(numerator, denominator) -%} ({{ numerator }} / {{ denominator }}) {%- endmacro %}
{% macro spark__ratio(numerator, denominator) -%} (cast({{ numerator }} as double) / {{ denominator }}) {%- endmacro %}
