{#- Joins DuckDB has and Spark's SQL lacks. -#}

{#- ASOF left join: each probe row gets at most one row of `relation` (as `alias`), the one with the same key
    (`alias`.`key` = `probe_key`) whose `time` is nearest to `probe_time` on the side `operator` gives:
    `time <= probe_time` or `<` the latest such row, `time > probe_time` or `>=` the earliest. On Spark each
    row of `relation` holds from its time up to the next row's (down to the previous one's for > and >=),
    and the probe joins the one row whose span holds it: an equi-join on the key, no ASOF operator. Rows
    with equal times have empty spans but the last (first), so a probe still gets one row. The Spark side
    adds the column `asof_bound` to `alias`. -#}
{% macro asof_left_join(relation, alias, key, probe_key, time, operator, probe_time) -%}
    {{ return(adapter.dispatch('asof_left_join', 'synergy')(relation, alias, key, probe_key, time, operator, probe_time)) }}
{%- endmacro %}
{% macro default__asof_left_join(relation, alias, key, probe_key, time, operator, probe_time) -%}
    asof left join {{ relation }} as {{ alias }} on {{ alias }}.{{ key }} = {{ probe_key }} and {{ alias }}.{{ time }} {{ operator }} {{ probe_time }}
{%- endmacro %}
{% macro spark__asof_left_join(relation, alias, key, probe_key, time, operator, probe_time) -%}
    {%- set bounds = {'<=': ('lead', '>'), '<': ('lead', '>='), '>': ('lag', '<='), '>=': ('lag', '<')} -%}
    {%- if operator not in bounds -%}{{ exceptions.raise_compiler_error("asof_left_join: no operator " ~ operator) }}{%- endif -%}
    {%- set neighbour, bound_operator = bounds[operator] -%}
    left join (select *, {{ neighbour }}({{ time }}) over (partition by {{ key }} order by {{ time }}) as asof_bound
               from {{ relation }}) as {{ alias }}
        on {{ alias }}.{{ key }} = {{ probe_key }} and {{ alias }}.{{ time }} {{ operator }} {{ probe_time }}
            and ({{ alias }}.asof_bound is null or {{ alias }}.asof_bound {{ bound_operator }} {{ probe_time }})
{%- endmacro %}
