{#- Lists. DuckDB counts list positions from 1, Spark's subscript from 0; lambdas differ in syntax. -#}

{#- The element at a 1-based position. -#}
{% macro list_at(list, position) -%}
    {{ return(adapter.dispatch('list_at', 'synergy')(list, position)) }}
{%- endmacro %}
{% macro default__list_at(list, position) -%} {{ list }}[{{ position }}] {%- endmacro %}
{% macro spark__list_at(list, position) -%} {{ list }}[{{ position }} - 1] {%- endmacro %}

{#- The names whose flag is true, in the order given: a list of flags turned into a list of names. -#}
{% macro names_flagged(names, flags) -%}
    {{ return(adapter.dispatch('names_flagged', 'synergy')(names, flags)) }}
{%- endmacro %}
{% macro default__names_flagged(names, flags) -%}
    list_filter([{% for name in names %}'{{ name }}'{{ ', ' if not loop.last }}{% endfor %}],
            lambda name, i: [{{ flags | join(', ') }}][i])
{%- endmacro %}
{% macro spark__names_flagged(names, flags) -%}
    filter(array({% for name in names %}'{{ name }}'{{ ', ' if not loop.last }}{% endfor %}),
            (name, i) -> array({{ flags | join(', ') }})[i])
{%- endmacro %}

{#- How many elements of a list satisfy `predicate`, an expression of `element`. -#}
{% macro count_matching(list, element, predicate) -%}
    {{ return(adapter.dispatch('count_matching', 'synergy')(list, element, predicate)) }}
{%- endmacro %}
{% macro default__count_matching(list, element, predicate) -%}
    len(list_filter({{ list }}, lambda {{ element }}: {{ predicate }}))
{%- endmacro %}
{% macro spark__count_matching(list, element, predicate) -%}
    size(filter({{ list }}, {{ element }} -> {{ predicate }}))
{%- endmacro %}

{% macro empty_list() -%}
    {{ return(adapter.dispatch('empty_list', 'synergy')()) }}
{%- endmacro %}
{% macro default__empty_list() -%} [] {%- endmacro %}
{% macro spark__empty_list() -%} array() {%- endmacro %}

{#- The elements of a list that satisfy `predicate`, an expression of `element`, in order. -#}
{% macro filter_list(list, element, predicate) -%}
    {{ return(adapter.dispatch('filter_list', 'synergy')(list, element, predicate)) }}
{%- endmacro %}
{% macro default__filter_list(list, element, predicate) -%}
    list_filter({{ list }}, lambda {{ element }}: {{ predicate }})
{%- endmacro %}
{% macro spark__filter_list(list, element, predicate) -%}
    filter({{ list }}, {{ element }} -> {{ predicate }})
{%- endmacro %}

{#- The key of a map's largest value, ties going to the smallest key; null for an empty or null map (Spark's `get`
    gives null for the first element of an empty list, where a subscript fails under ANSI mode). Sorts each row's few
    entries: a row per entry and a window over them cost 4.8 s of CPU at 1M members. -#}
{% macro top_map_key(map) -%}
    {{ return(adapter.dispatch('top_map_key', 'synergy')(map)) }}
{%- endmacro %}
{% macro default__top_map_key(map) -%}
    list_sort(list_transform(map_entries({{ map }}), lambda e: {'negated_value': -e.value, 'key': e.key}))[1].key
{%- endmacro %}
{% macro spark__top_map_key(map) -%}
    get(array_sort(transform(map_entries({{ map }}), e -> named_struct('negated_value', -e.value, 'key', e.key))), 0).key
{%- endmacro %}

{#- One row per element of a list (in a select list); none for an empty or null list. -#}
{% macro unnest_list(list) -%}
    {{ return(adapter.dispatch('unnest_list', 'synergy')(list)) }}
{%- endmacro %}
{% macro default__unnest_list(list) -%} unnest({{ list }}) {%- endmacro %}
{% macro spark__unnest_list(list) -%} explode({{ list }}) {%- endmacro %}

{#- A list of the given elements. -#}
{% macro list_of() -%}
    {{ return(adapter.dispatch('list_of', 'synergy')(*varargs)) }}
{%- endmacro %}
{% macro default__list_of() -%} [{{ varargs | join(', ') }}] {%- endmacro %}
{% macro spark__list_of() -%} array({{ varargs | join(', ') }}) {%- endmacro %}

{#- Each element of a list replaced by `expression`, an expression of `element`. -#}
{% macro transformed(list, element, expression) -%}
    {{ return(adapter.dispatch('transformed', 'synergy')(list, element, expression)) }}
{%- endmacro %}
{% macro default__transformed(list, element, expression) -%}
    list_transform({{ list }}, lambda {{ element }}: {{ expression }})
{%- endmacro %}
{% macro spark__transformed(list, element, expression) -%}
    transform({{ list }}, {{ element }} -> {{ expression }})
{%- endmacro %}

{#- Two lists of the same length walked together: `expression` of `left_element` and `right_element`,
    for each position. DuckDB's lambdas see a position, not a second list: the right element is bound
    by a one-element list_transform. -#}
{% macro zipped(left, right, left_element, right_element, expression) -%}
    {{ return(adapter.dispatch('zipped', 'synergy')(left, right, left_element, right_element, expression)) }}
{%- endmacro %}
{% macro default__zipped(left, right, left_element, right_element, expression) -%}
    list_transform({{ left }}, lambda {{ left_element }}, position:
        list_transform([({{ right }})[position]], lambda {{ right_element }}: {{ expression }})[1])
{%- endmacro %}
{% macro spark__zipped(left, right, left_element, right_element, expression) -%}
    zip_with({{ left }}, {{ right }}, ({{ left_element }}, {{ right_element }}) -> {{ expression }})
{%- endmacro %}

{#- Whether a list holds a value (null for a null list). -#}
{% macro list_has(list, value) -%}
    {{ return(adapter.dispatch('list_has', 'synergy')(list, value)) }}
{%- endmacro %}
{% macro default__list_has(list, value) -%} list_contains({{ list }}, {{ value }}) {%- endmacro %}
{% macro spark__list_has(list, value) -%} array_contains({{ list }}, {{ value }}) {%- endmacro %}

{#- The number of elements of a list. -#}
{% macro list_length(list) -%}
    {{ return(adapter.dispatch('list_length', 'synergy')(list)) }}
{%- endmacro %}
{% macro default__list_length(list) -%} len({{ list }}) {%- endmacro %}
{% macro spark__list_length(list) -%} size({{ list }}) {%- endmacro %}
