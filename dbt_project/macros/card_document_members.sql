{#- Whether the card documents view builds the document of `profile_id`. Publishing sets the DuckDB session variable
    card_document_members to the profiles whose inputs changed since their stored document (publishing/publish.py), so
    the view builds those documents alone; unset (dbt's tests, an analyst), it builds every member's. On Spark the
    documents are a table, built whole with the models. -#}
{% macro card_document_members(profile_id) -%}
    {{ return(adapter.dispatch('card_document_members', 'synergy')(profile_id)) }}
{%- endmacro %}
{% macro default__card_document_members(profile_id) -%}
    (getvariable('card_document_members') is null
     or {{ profile_id }} in (select unnest(getvariable('card_document_members'))))
{%- endmacro %}
{% macro spark__card_document_members(profile_id) -%} true {%- endmacro %}
