{#- The links of the records in `observations` (a relation or a SELECT in parentheses, aliased `o`): each identifier
    on them that may link profiles (valid, not blocked, of a linking type), with its rule's priority and limit, and
    the `extra` columns. -#}
{% macro linking_observations(observations, extra=[]) -%}
select o.source, o.brand_id, o.record_id, o.observed_at,
    o.id_type, o.value, i.priority, i.max_per_profile{% for column in extra %}, {{ column }}{% endfor %}
from {{ observations }} as o
inner join {{ ref('int_identity__identifiers') }} as i using (brand_id, id_type, value)
where i.links_profiles
{%- endmacro %}

{#- A digest of the seeds that decide which identifiers link and how (identity_rules, identity_blocklist): it
    changes when any of their rows does. Engine-specific values, compared only with the same engine's. -#}
{% macro identity_rules_digest() -%}
cast({{ rows_digest(ref('identity_rules'), ['brand_id', 'id_type', 'priority', 'max_per_profile', 'links_profiles']) }}
    + {{ rows_digest(ref('identity_blocklist'), ['id_type', 'value', 'pattern', 'reason']) }}
    as {{ text_type() }})
{%- endmacro %}

{#- Pre-hook of int_identity__event_links: when the seeds changed since its rows were linked, they all go, and the
    run links every event again. Checked first, so Spark rewrites the table only then. -#}
{% macro forget_links_under_other_rules(relation) -%}
    {%- if execute -%}
        {%- set stale = run_query('select 1 from ' ~ relation ~ ' where rules_digest <> ' ~ identity_rules_digest() ~ ' limit 1') -%}
        {%- if stale.rows | length > 0 -%}{{ delete_rows(relation, 'true') }}{%- endif -%}
    {%- endif -%}
{%- endmacro %}
