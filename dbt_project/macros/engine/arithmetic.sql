{#- Arithmetic spelled differently: DuckDB's `^` is a power, Spark's a bitwise XOR. -#}

{#- `base` raised to `exponent`; `base` is SQL text that binds tighter than an operator (a name, a call or a
    parenthesized expression). -#}
{% macro power(base, exponent) -%}
    {{ return(adapter.dispatch('power', 'synergy')(base, exponent)) }}
{%- endmacro %}
{% macro default__power(base, exponent) -%} {{ base }} ^ {{ exponent }} {%- endmacro %}
{% macro spark__power(base, exponent) -%} power({{ base }}, {{ exponent }}) {%- endmacro %}
