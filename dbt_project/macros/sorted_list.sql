{#- list(value order by by), without DuckDB's ordered aggregate: each group's list is collected
    unordered and sorted on its own, which at 1M members is as fast as an unordered list (the
    ordered aggregate buffers and sorts every group: 1.7x slower). Ties on `by` are broken by the
    value itself, so the order never depends on how rows arrived. -#}
{% macro sorted_list(value, by) -%}
    {{ return(adapter.dispatch('sorted_list', 'synergy')(value, by)) }}
{%- endmacro %}

{% macro default__sorted_list(value, by) -%}
    list_transform(list_sort(list({'sort_key': {{ by }}, 'value': {{ value }}})), lambda entry: entry.value)
{%- endmacro %}
