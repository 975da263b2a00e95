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

{#- A map from each of `names` to the share of `total` counted in the column of that name on `relation`,
    rounded to `places`: only the names counted at least once, in key order as sorted_map's; null when nothing
    was counted. Built from one row's columns, where sorted_map needs a row per key and a group by. -#}
{% macro shares_map(names, relation, total, places) -%}
    {{ return(adapter.dispatch('shares_map', 'synergy')(names | sort, relation, total, places)) }}
{%- endmacro %}

{% macro default__shares_map(names, relation, total, places) -%}
    case when {{ total }} > 0 then map_from_entries(list_transform(list_filter(
        [{% for name in names %}{'name': '{{ name }}', 'n': {{ relation }}.{{ name }}}{{ ', ' if not loop.last }}{% endfor %}],
        lambda entry: entry.n > 0), lambda entry: (entry.name, {{ round_double('entry.n / ' ~ total, places) }}))) end
{%- endmacro %}

{% macro spark__shares_map(names, relation, total, places) -%}
    case when {{ total }} > 0 then map_from_entries(transform(filter(
        array({% for name in names %}named_struct('name', '{{ name }}', 'n', {{ relation }}.{{ name }}){{ ', ' if not loop.last }}{% endfor %}),
        entry -> entry.n > 0), entry -> struct(entry.name, {{ round_double('entry.n / ' ~ total, places) }}))) end
{%- endmacro %}
