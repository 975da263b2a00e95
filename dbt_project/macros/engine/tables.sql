{#- Changing the rows of a table in place. DuckDB updates and deletes rows in the model's transaction; Spark's
    Parquet tables have no UPDATE, DELETE or transaction, so there the table is rewritten: the rows it keeps are
    written in full under a new name (`<table>__rewrite`; a table cannot be overwritten while it is read), then
    swapped in (the table dropped, the new one renamed). A crash leaves either both tables (the swap had not
    started: the table is intact) or the new one alone (the swap was half done: it holds every row);
    finish_table_rewrites, run at the start of every dbt run, settles either, so no row is lost or stamped again. -#}

{#- Removes the rows of `relation` for which `condition` (SQL text) is true. Spark first checks that some row does,
    so it rewrites the table only when needed; DuckDB deletes at once (a check would evaluate the condition twice, and
    a delete that finds no row writes nothing). -#}
{% macro delete_rows(relation, condition) -%}
    {{ return(adapter.dispatch('delete_rows', 'synergy')(relation, condition)) }}
{%- endmacro %}
{% macro default__delete_rows(relation, condition) -%} delete from {{ relation }} where {{ condition }} {%- endmacro %}
{% macro spark__delete_rows(relation, condition) -%}
    {%- if execute and run_query('select 1 from ' ~ relation ~ ' where ' ~ condition ~ ' limit 1').rows | length > 0 -%}
        {{ synergy.rewrite_table(relation, 'select * from ' ~ relation ~ ' where not coalesce(' ~ condition ~ ', false)') }}
    {%- endif -%}
{%- endmacro %}

{#- Replaces the rows of `relation` with those of `select_sql` (the table's columns, in order). Runs its
    statements itself (Spark takes one statement at a time), so as a hook it leaves nothing more to run. -#}
{% macro rewrite_table(relation, select_sql) -%}
    {%- if execute -%}
        {%- do synergy.write_table_rewrite(relation, select_sql) -%}
        {%- do synergy.swap_in_table_rewrite(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro table_rewrite_of(relation) -%}
    {{ return(relation.incorporate(path={"identifier": relation.identifier ~ '__rewrite'})) }}
{%- endmacro %}

{#- The first half: the new rows in full beside the table, which stays as it was. A rewrite a crash left
    behind is replaced. The new table takes the table's columns (with their comments) before its rows. -#}
{% macro write_table_rewrite(relation, select_sql) -%}
    {%- set rewrite = synergy.table_rewrite_of(relation) -%}
    {%- do run_query('drop table if exists ' ~ rewrite) -%}
    {%- do run_query('create table ' ~ rewrite ~ ' like ' ~ relation ~ ' using parquet') -%}
    {%- do run_query('insert into ' ~ rewrite ~ ' ' ~ select_sql) -%}
{%- endmacro %}

{#- The second half: the complete new table takes the table's place. -#}
{% macro swap_in_table_rewrite(relation) -%}
    {%- do run_query('drop table ' ~ relation) -%}
    {%- do run_query('alter table ' ~ synergy.table_rewrite_of(relation) ~ ' rename to ' ~ relation) -%}
{%- endmacro %}

{#- Run at the start of every dbt run (dbt_project.yml on-run-start): settles the rewrites a crash left half
    done, for every incremental model (the tables that are rewritten in place). No-op on DuckDB, where a
    rewrite is one transaction. Goes through the adapter, so the relation cache, and with it
    is_incremental(), sees the table that was renamed into place. -#}
{% macro finish_table_rewrites() -%}
    {{ return(adapter.dispatch('finish_table_rewrites', 'synergy')()) }}
{%- endmacro %}
{% macro default__finish_table_rewrites() -%}{%- endmacro %}
{% macro spark__finish_table_rewrites() -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.config.materialized == 'incremental' -%}
            {%- set table = adapter.get_relation(node.database, node.schema, node.alias) -%}
            {%- set rewrite = adapter.get_relation(node.database, node.schema, node.alias ~ '__rewrite') -%}
            {%- if rewrite is not none and table is not none -%}
                {{ log('A rewrite of ' ~ table ~ ' was left before its swap: the table is intact, the rewrite dropped', info=true) }}
                {%- do adapter.drop_relation(rewrite) -%}
            {%- elif rewrite is not none -%}
                {{ log('A rewrite of ' ~ node.schema ~ '.' ~ node.alias ~ ' was left half swapped: renamed into place', info=true) }}
                {%- do adapter.rename_relation(rewrite, rewrite.incorporate(path={"identifier": node.alias})) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
