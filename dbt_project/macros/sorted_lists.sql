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

{#- map_from_entries(list((key, value) order by key)): a map whose entries are in key order, built
    from an unordered list sorted per group (keys are unique in a map, so the key decides the order). -#}
{% macro sorted_map(key, value) -%}
    {{ return(adapter.dispatch('sorted_map', 'synergy')(key, value)) }}
{%- endmacro %}

{% macro default__sorted_map(key, value) -%}
    map_from_entries(list_sort(list(({{ key }}, {{ value }}))))
{%- endmacro %}

{#- Spark: collect_list skips nulls, so entries are structs (never null) whatever their value. -#}
{% macro spark__sorted_list(value, by) -%}
    transform(array_sort(collect_list(struct({{ by }} as sort_key, {{ value }} as value))), entry -> entry.value)
{%- endmacro %}

{% macro spark__sorted_map(key, value) -%}
    map_from_entries(array_sort(collect_list(struct({{ key }}, {{ value }}))))
{%- endmacro %}
