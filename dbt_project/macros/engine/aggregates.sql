{#- Aggregates whose names or arguments differ. -#}

{#- `value` of the row where the ordering columns `by` (a list, compared in order) are largest / smallest. -#}
{% macro arg_max(value, by) -%}
    {{ return(adapter.dispatch('arg_max', 'synergy')(value, by)) }}
{%- endmacro %}
{% macro default__arg_max(value, by) -%} arg_max({{ value }}, {{ synergy.ordering_key(by) }}) {%- endmacro %}
{% macro spark__arg_max(value, by) -%} max_by({{ value }}, {{ synergy.ordering_key(by) }}) {%- endmacro %}

{% macro arg_min(value, by) -%}
    {{ return(adapter.dispatch('arg_min', 'synergy')(value, by)) }}
{%- endmacro %}
{% macro default__arg_min(value, by) -%} arg_min({{ value }}, {{ synergy.ordering_key(by) }}) {%- endmacro %}
{% macro spark__arg_min(value, by) -%} min_by({{ value }}, {{ synergy.ordering_key(by) }}) {%- endmacro %}

{#- One column as itself, several as a row compared column by column. -#}
{% macro ordering_key(by) -%}
    {{ return(adapter.dispatch('ordering_key', 'synergy')(by)) }}
{%- endmacro %}
{% macro default__ordering_key(by) -%}
    {%- if by is string -%}{{ by }}{%- else -%}({{ by | join(', ') }}){%- endif -%}
{%- endmacro %}
{% macro spark__ordering_key(by) -%}
    {%- if by is string -%}{{ by }}{%- else -%}struct({{ by | join(', ') }}){%- endif -%}
{%- endmacro %}

{#- A number that orders the rows of each group `within` (a list of columns) as the columns `by` do, for arg_max
    over many rows: an aggregate compares one number much faster than a row of columns. DuckDB numbers all rows
    in one sort, cheaper than a sort per group; on Spark a window without partitions runs as one task, so it
    numbers each group. Only the order within a group is the same on both. -#}
{% macro group_ordinal(by, within) -%}
    {{ return(adapter.dispatch('group_ordinal', 'synergy')(by, within)) }}
{%- endmacro %}
{% macro default__group_ordinal(by, within) -%} row_number() over (order by {{ by | join(', ') }}) {%- endmacro %}
{% macro spark__group_ordinal(by, within) -%}
    row_number() over (partition by {{ within | join(', ') }} order by {{ by | join(', ') }})
{%- endmacro %}

{#- Continuous quantiles (linear interpolation) of `value` at each of `fractions`, as a list. -#}
{% macro quantiles(value, fractions) -%}
    {{ return(adapter.dispatch('quantiles', 'synergy')(value, fractions)) }}
{%- endmacro %}
{% macro default__quantiles(value, fractions) -%} quantile_cont({{ value }}, [{{ fractions | join(', ') }}]) {%- endmacro %}
{% macro spark__quantiles(value, fractions) -%} percentile({{ value }}, array({{ fractions | join(', ') }})) {%- endmacro %}

{#- The distinct non-null values of a group, sorted. -#}
{% macro sorted_distinct_list(value) -%}
    {{ return(adapter.dispatch('sorted_distinct_list', 'synergy')(value)) }}
{%- endmacro %}
{% macro default__sorted_distinct_list(value) -%} list_sort(list(distinct {{ value }})) {%- endmacro %}
{% macro spark__sorted_distinct_list(value) -%} array_sort(collect_set({{ value }})) {%- endmacro %}

{#- row_number() over (`window`), a bigint as on DuckDB (Spark's is an int). -#}
{% macro row_number(window) -%}
    {{ return(adapter.dispatch('row_number', 'synergy')(window)) }}
{%- endmacro %}
{% macro default__row_number(window) -%} row_number() over ({{ window }}) {%- endmacro %}
{% macro spark__row_number(window) -%} cast(row_number() over ({{ window }}) as bigint) {%- endmacro %}

{#- The group's values as a list, unordered. DuckDB keeps nulls in it, Spark's collect_list skips them. -#}
{% macro grouped_list(value) -%}
    {{ return(adapter.dispatch('grouped_list', 'synergy')(value)) }}
{%- endmacro %}
{% macro default__grouped_list(value) -%} list({{ value }}) {%- endmacro %}
{% macro spark__grouped_list(value) -%} collect_list({{ value }}) {%- endmacro %}

{#- last_value skipping nulls, for a window (`over` follows the call). -#}
{% macro last_non_null(value) -%}
    {{ return(adapter.dispatch('last_non_null', 'synergy')(value)) }}
{%- endmacro %}
{% macro default__last_non_null(value) -%} last_value({{ value }} ignore nulls) {%- endmacro %}
{% macro spark__last_non_null(value) -%} last_value({{ value }}, true) {%- endmacro %}

{#- A hash of `columns` (expressions) in which a null column counts where it stands: Spark's hash() skips null
    arguments, so there hash(null, 'x') equals hash('x', null), and the list of which columns are null tells them
    apart (nulls inside a list or record column are still skipped there). -#}
{% macro row_hash(columns) -%}
    {{ return(adapter.dispatch('row_hash', 'synergy')(columns)) }}
{%- endmacro %}
{% macro default__row_hash(columns) -%} hash({{ columns | join(', ') }}) {%- endmacro %}
{% macro spark__row_hash(columns) -%}
    hash({{ columns | join(', ') }}, array({% for column in columns %}isnull({{ column }}){{ ', ' if not loop.last }}{% endfor %}))
{%- endmacro %}

{#- A digest of the rows of `rows` (what follows FROM: a relation, joined relations with their aliases, a WHERE
    clause): their count plus the sum of row_hash(`columns`). It changes when a row is added, removed or changed.
    Engine-specific values: compare a digest only with one the same engine computed. -#}
{% macro rows_digest(rows, columns) -%}
    (select {{ synergy.group_digest(columns) }} from {{ rows }})
{%- endmacro %}

{#- rows_digest as an aggregate: a digest of the group's rows (of `columns`), in any order. -#}
{% macro group_digest(columns) -%}
    count(*) + coalesce(sum({{ synergy.row_hash(columns) }}), 0)
{%- endmacro %}
