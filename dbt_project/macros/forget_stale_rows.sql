{#- The pre-hook shape of a table kept across builds that carries `inputs_digest` (everything its rows depend on
    besides the data it follows): when `digest` (SQL) differs from the one its rows were written under, every row
    goes and the model writes them all again (`inputs` names them in the log line). Otherwise the rows go for which
    `changed` (SQL text) holds; with `applied` (the last resolution the table applied, macros/record_changes.sql),
    through forget_rows_since, which rebuilds whole when the changes since are not all kept. -#}
{% macro forget_stale_rows(relation, digest, inputs, changed, applied=none) -%}
    {%- set other_inputs = run_query('select 1 from ' ~ relation ~ ' where inputs_digest <> ' ~ digest ~ ' limit 1') -%}
    {%- if other_inputs.rows | length > 0 -%}
        {{ log(relation ~ ' was written under other ' ~ inputs ~ ': rebuilt whole', info=true) }}
        {{ synergy.delete_rows(relation, 'true') }}
    {%- elif applied is none -%}
        {{ synergy.delete_rows(relation, changed) }}
    {%- else -%}
        {{ synergy.forget_rows_since(relation, applied, synergy.events_resolution(), changed) }}
    {%- endif -%}
{%- endmacro %}
