{#- How many actions worth `points` each, boosted by the rank multiplier, close a gap. -#}
{% macro actions_needed(gap, points, multiplier) -%}
    cast(ceil({{ ratio('(' ~ gap ~ ')', '((' ~ points ~ ') * (' ~ multiplier ~ '))') }}) as integer)
{%- endmacro %}
