{#- Seeds on Spark are read by Spark's CSV reader, as dbt-duckdb has DuckDB read them: an empty cell is null
    and the text `null` stays text (the blocklist blocks that placeholder). dbt-spark's own loader goes through
    agate, which reads `null` as null, and its session connection binds values by quoting their text, which
    breaks on an apostrophe ("Can't Lose Them") and turns nulls into the text 'None'. The executors read the
    file where the project is, so a cluster's workers must see the project directory. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set csv_view = this.identifier ~ '__csv' -%}
    {%- call statement('seed_csv_view') -%}
        create or replace temporary view {{ csv_view }} using csv
        options (path '{{ model.root_path }}/{{ model.original_file_path }}', header 'true', escape '"', multiLine 'true')
    {%- endcall -%}
    {%- set sql -%}
        insert into {{ this.render() }}
        select {% for name in agate_table.column_names -%}
            cast({{ adapter.quote(name) }} as {{ column_override.get(name, adapter.convert_type(agate_table, loop.index0)) }}){{ ', ' if not loop.last }}
        {%- endfor %}
        from {{ csv_view }}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {{ return(sql) }}
{% endmacro %}
