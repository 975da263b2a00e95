{#- Arithmetic spelled differently: DuckDB's `^` is a power, Spark's a bitwise XOR. -#}

{#- `base` to the power `exponent`; both are operands (a name, a literal or a parenthesized expression),
    as `^` binds tighter than any other operator on DuckDB. -#}
{% macro power(base, exponent) -%}
    {{ return(adapter.dispatch('power', 'synergy')(base, exponent)) }}
{%- endmacro %}
{% macro default__power(base, exponent) -%} {{ base }} ^ {{ exponent }} {%- endmacro %}
{% macro spark__power(base, exponent) -%} power({{ base }}, {{ exponent }}) {%- endmacro %}
