{#- Changing the rows of a table in place. DuckDB updates and deletes rows; Spark's Parquet tables have no
    UPDATE or DELETE, so there the table is rewritten: the rows it keeps are written to a staging table
    (a table cannot be overwritten while it is read), which then overwrites the table and is dropped. -#}

{#- Removes the rows of `relation` for which `condition` (SQL text) is true. -#}
{% macro delete_rows(relation, condition) -%}
    {{ return(adapter.dispatch('delete_rows', 'synergy')(relation, condition)) }}
{%- endmacro %}
{% macro default__delete_rows(relation, condition) -%} delete from {{ relation }} where {{ condition }} {%- endmacro %}
{% macro spark__delete_rows(relation, condition) -%}
    {{ synergy.rewrite_table(relation, 'select * from ' ~ relation ~ ' where not coalesce(' ~ condition ~ ', false)') }}
{%- endmacro %}

{#- Replaces the rows of `relation` with those of `select_sql` (the table's columns, in order). Runs its
    statements itself (Spark takes one statement at a time), so as a hook it leaves nothing more to run. A
    failure between the overwrite and the drop leaves the staging table, which the next rewrite replaces. -#}
{% macro rewrite_table(relation, select_sql) -%}
    {%- if execute -%}
        {%- set staging = relation.incorporate(path={"identifier": relation.identifier ~ '__rewrite'}) -%}
        {%- do run_query('drop table if exists ' ~ staging) -%}
        {%- do run_query('create table ' ~ staging ~ ' using parquet as ' ~ select_sql) -%}
        {%- do run_query('insert overwrite table ' ~ relation ~ ' select * from ' ~ staging) -%}
        {%- do run_query('drop table ' ~ staging) -%}
    {%- endif -%}
{%- endmacro %}
