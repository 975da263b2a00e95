{#- For an incremental table keyed by profile: rows of profiles merged since move to the surviving profile
    (identity.profile_merges names the current survivor of every merged id), and where that gives two rows one
    key, the one first in `order_by` stays. -#}
{% macro follow_profile_merges(relation, key_columns, order_by) -%}
    {{ return(adapter.dispatch('follow_profile_merges', 'synergy')(relation, key_columns, order_by)) }}
{%- endmacro %}

{#- Ties on `order_by` keep the row of the smallest former profile id, as on Spark. The copies go first, while the
    rows still carry the profile they were detected for. -#}
{% macro default__follow_profile_merges(relation, key_columns, order_by) -%}
delete from {{ relation }} where rowid in (
    select row_id from (
        select row_id, row_number() over (partition by followed_to, {{ key_columns | join(', ') }}
                                          order by {{ order_by }}, profile_id) as copy
        from (
            select t.rowid as row_id, coalesce(m.profile_id, t.profile_id) as followed_to, t.*
            from {{ relation }} as t
            left join {{ source('identity', 'profile_merges') }} as m on t.profile_id = m.merged_profile_id))
    where copy > 1);
update {{ relation }} as t set profile_id = m.profile_id
from {{ source('identity', 'profile_merges') }} as m
where t.profile_id = m.merged_profile_id
{%- endmacro %}

{#- The table is rewritten with the merges followed (engine/tables.sql); ties on `order_by` keep the row of the
    smallest former profile id. -#}
{% macro spark__follow_profile_merges(relation, key_columns, order_by) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) if execute else [] -%}
    {%- set followed -%}
        select {% for column in columns %}{{ column.quoted }}{{ ', ' if not loop.last }}{% endfor %}
        from (
            select *, row_number() over (partition by profile_id, {{ key_columns | join(', ') }}
                                         order by {{ order_by }}, followed_from) as copy
            from (
                select {% for column in columns -%}
                    {%- if column.name == 'profile_id' %}coalesce(m.profile_id, t.profile_id) as profile_id
                    {%- else %}t.{{ column.quoted }}{% endif %}, {% endfor -%}
                    t.profile_id as followed_from
                from {{ relation }} as t
                left join {{ source('identity', 'profile_merges') }} as m on t.profile_id = m.merged_profile_id))
        where copy = 1
    {%- endset -%}
    {{ synergy.rewrite_table(relation, followed) }}
{%- endmacro %}
