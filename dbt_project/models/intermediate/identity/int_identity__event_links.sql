{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_links_under_other_rules(this) }}{% endif %}") }}
-- The links of action-log events (int_identity__links), appended for the landing files not linked yet: old
-- events link as they did, so only a day's files are joined. Which identifiers link comes from the identity
-- rules and blocklist seeds: when they change, the rows linked under the old ones are deleted first
-- (macros/identity_links.sql), and every event is linked again. `linked_by` names the dbt invocation that wrote a
-- row: identity resolution hashes again only the events of a (file, invocation) it has not resolved, so anything that
-- writes rows again (new rules, a full refresh) has them hashed again.
{%- set observations = ref('int_identity__event_observations') %}
{%- if is_incremental() %}
    {#- The observations of the files not linked yet, picked before they meet the identifiers: with this filter after
        the join, the planner joined every observation first (6 s at 1M with nothing new). -#}
    {%- set observations = '(select * from ' ~ observations ~ ' where source_file_id not in (select distinct source_file_id from '
                           ~ this ~ '))' %}
{%- endif %}
{{ linking_observations(observations,
                        extra=['o.source_file_id', identity_rules_digest() ~ ' as rules_digest',
                               "'" ~ invocation_id ~ "' as linked_by"]) }}
