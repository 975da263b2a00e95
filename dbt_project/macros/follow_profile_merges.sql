{#- For an incremental table keyed by profile: rows of profiles merged since move to the surviving profile
    (identity.profile_merges names the current survivor of every merged id), and where that gives two rows one
    key, the one first in `order_by` stays. -#}
{% macro follow_profile_merges(relation, key_columns, order_by) -%}
update {{ relation }} as t set profile_id = m.profile_id
from {{ source('identity', 'profile_merges') }} as m
where t.profile_id = m.merged_profile_id;
delete from {{ relation }} where rowid in (
    select rowid from (
        select rowid, row_number() over (partition by profile_id, {{ key_columns | join(', ') }}
                                         order by {{ order_by }}, rowid) as copy
        from {{ relation }})
    where copy > 1)
{%- endmacro %}
