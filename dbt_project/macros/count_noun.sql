{#- "1 point", "2 points": a count with its noun in the right number. -#}
{% macro count_noun(count, singular, plural) -%}
    cast({{ count }} as {{ text_type() }}) || case when ({{ count }}) = 1 then ' {{ singular }}' else ' {{ plural }}' end
{%- endmacro %}
