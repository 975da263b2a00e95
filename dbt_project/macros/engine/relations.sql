{#- Set operations DuckDB has and Spark's SQL lacks. -#}

{#- Every row of two relations, columns matched by name (`first` leaving out `excluded`); Spark needs
    the column list, read from the catalog when the model runs. -#}
{% macro union_all_by_name(first, second, excluded=[]) -%}
    {{ return(adapter.dispatch('union_all_by_name', 'synergy')(first, second, excluded)) }}
{%- endmacro %}
{% macro default__union_all_by_name(first, second, excluded) -%}
select *{% if excluded %} exclude ({{ excluded | join(', ') }}){% endif %} from {{ first }}
union all by name
select * from {{ second }}
{%- endmacro %}
{% macro spark__union_all_by_name(first, second, excluded) -%}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- for column in adapter.get_columns_in_relation(first) if column.name not in excluded -%}
            {%- do columns.append(adapter.quote(column.name)) -%}
        {%- endfor -%}
    {%- endif -%}
select {{ columns | join(', ') if columns else '*' }} from {{ first }}
union all
select {{ columns | join(', ') if columns else '*' }} from {{ second }}
{%- endmacro %}

{#- The rows of `relation` turned into one row per non-null value of `columns`: the column's name in
    `name`, its value in `value`, the other columns kept. `replaced` maps a column to the text column
    that stands for it among `columns` (the values must share a type). For a FROM clause. Spark's SQL
    cannot leave a column out of `*`, so there the replaced column stays beside its text. -#}
{% macro unpivot(relation, columns, name, value, replaced={}) -%}
    {{ return(adapter.dispatch('unpivot', 'synergy')(relation, columns, name, value, replaced)) }}
{%- endmacro %}
{% macro default__unpivot(relation, columns, name, value, replaced) -%}
    (
        unpivot (select *{% if replaced %} exclude ({{ replaced.keys() | join(', ') }}){% endif %}
            {%- for column, text in replaced.items() %}, cast({{ column }} as {{ text_type() }}) as {{ text }}{% endfor %} from {{ relation }})
        on {{ columns | join(', ') }}
        into name {{ name }} value {{ value }}
    )
{%- endmacro %}
{% macro spark__unpivot(relation, columns, name, value, replaced) -%}
    (select *{% for column, text in replaced.items() %}, cast({{ column }} as {{ text_type() }}) as {{ text }}{% endfor %} from {{ relation }})
        unpivot exclude nulls ({{ value }} for {{ name }} in ({{ columns | join(', ') }}))
{%- endmacro %}

{#- `as materialized` for a CTE read several times: DuckDB then computes it once. Spark decides itself. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'synergy')()) }}
{%- endmacro %}
{% macro default__materialized_cte() -%} materialized {%- endmacro %}
{% macro spark__materialized_cte() -%} {%- endmacro %}

{#- The join keeping the left rows that have no match: DuckDB's `anti join`, Spark's `left anti join`. -#}
{% macro anti_join() -%}
    {{ return(adapter.dispatch('anti_join', 'synergy')()) }}
{%- endmacro %}
{% macro default__anti_join() -%} anti join {%- endmacro %}
{% macro spark__anti_join() -%} left anti join {%- endmacro %}

{#- A FROM item of one row per element of a list of records with text `fields` (name it `as t(element)`), where an
    empty or null list gives one row whose record has every field null. -#}
{% macro unnest_rows_or_null(list, fields) -%}
    {{ return(adapter.dispatch('unnest_rows_or_null', 'synergy')(list, fields)) }}
{%- endmacro %}
{% macro default__unnest_rows_or_null(list, fields) -%}
    unnest(coalesce(nullif({{ list }}, []), [{ {%- for field in fields %}'{{ field }}': null::varchar{{ ', ' if not loop.last }}{% endfor -%} }]))
{%- endmacro %}
{% macro spark__unnest_rows_or_null(list, fields) -%} lateral explode_outer({{ list }}) {%- endmacro %}

{#- A whole row of a FROM item as one record (for arg_max), and a record's fields as columns again. -#}
{% macro row_record(alias) -%}
    {{ return(adapter.dispatch('row_record', 'synergy')(alias)) }}
{%- endmacro %}
{% macro default__row_record(alias) -%} {{ alias }} {%- endmacro %}
{% macro spark__row_record(alias) -%} struct({{ alias }}.*) {%- endmacro %}

{% macro record_columns(record) -%}
    {{ return(adapter.dispatch('record_columns', 'synergy')(record)) }}
{%- endmacro %}
{% macro default__record_columns(record) -%} unnest({{ record }}) {%- endmacro %}
{% macro spark__record_columns(record) -%} {{ record }}.* {%- endmacro %}
