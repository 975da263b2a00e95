{#- Arithmetic spelled differently: DuckDB's `^` is a power, Spark's a bitwise XOR. -#}

{#- `base` to the power `exponent`; both are operands (a name, a literal or a parenthesized expression),
    as `^` binds tighter than any other operator on DuckDB. -#}
{% macro power(base, exponent) -%}
    {{ return(adapter.dispatch('power', 'synergy')(base, exponent)) }}
{%- endmacro %}
{% macro default__power(base, exponent) -%} {{ base }} ^ {{ exponent }} {%- endmacro %}
{% macro spark__power(base, exponent) -%} power({{ base }}, {{ exponent }}) {%- endmacro %}

{#- A double rounded to `places` decimals as DuckDB rounds it: the value times 10^places rounded half away from
    zero, divided back, a value that rounds to zero keeping its sign (-0.0). Spark's round rounds the shortest
    decimal text of the double (2.675 to 2.68, where DuckDB gives 2.67) and drops the sign of zero, which the
    Customer.io payloads, the same text on both engines, would show. -#}
{% macro round_double(value, places) -%}
    {{ return(adapter.dispatch('round_double', 'synergy')(value, places)) }}
{%- endmacro %}
{% macro default__round_double(value, places) -%} round({{ value }}, {{ places }}) {%- endmacro %}
{% macro spark__round_double(value, places) -%}
    transform(array(cast({{ value }} as double) * power(10, {{ places }})),
              y -> if(y < 0 or cast(y as string) = '-0.0', -round(-y, 0), round(y, 0)) / power(10, {{ places }}))[0]
{%- endmacro %}
