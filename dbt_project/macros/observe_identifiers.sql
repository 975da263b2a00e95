{#- Observations of identifiers from a CTE of records (source, brand_id, record_id, observed_at, user_id and
    the <type>_raw columns): one row per (record, identifier), raw and normalized, with why a value was
    unusable. Extra columns named in `keep` are carried along; `parsed_phones`, a relation of phones parsed
    before (raw_value, brand_timezone, e164), saves parsing them again. It continues the caller's WITH:
    `with records as (...), {{ observe_identifiers('records') }}`. -#}
{% macro observe_identifiers(records, keep=[], parsed_phones=none) -%}
unpivoted as (
    select * from {{ unpivot(records, replaced={'user_id': 'user_id_raw'},
        columns=['user_id_raw', 'email_raw', 'phone_raw', 'loyalty_id_raw', 'device_id_raw', 'cookie_id_raw',
                 'whatsapp_raw', 'qr_id_raw', 'card_last4_raw'],
        name='id_column', value='raw_value') }}
),

typed as (
    select u.source, u.brand_id, u.record_id, u.observed_at,
        {%- for column in keep %} u.{{ column }},{% endfor %}
        replace(u.id_column, '_raw', '') as id_type,
        u.raw_value,
        coalesce(b.timezone, 'UTC') as brand_timezone
    from unpivoted as u
    left join {{ ref('stg_app__brands') }} as b using (brand_id)
),

-- Phone parsing is the expensive step: do it once per distinct raw value and region (the distinct values first,
-- then the parse: DuckDB would otherwise call the function on every row before the DISTINCT), and not at all for
-- a number parsed before.
phones as (
    {%- if parsed_phones %}
    select raw_value, brand_timezone, e164 from {{ parsed_phones }}
    union all
    {%- endif %}
    select raw_value, brand_timezone, phone_e164(raw_value, brand_timezone) as e164
    from (
        select distinct t.raw_value, t.brand_timezone
        from typed as t
        where t.id_type in ('phone', 'whatsapp')
        {%- if parsed_phones %}
            and not exists (select 1 from {{ parsed_phones }} as k
                            where k.raw_value = t.raw_value and k.brand_timezone = t.brand_timezone)
        {%- endif %}
    ) as distinct_phones
),

normalized as (
    select t.*,
        case when t.id_type in ('phone', 'whatsapp') then p.e164
             else {{ normalize_identifier('t.id_type', 't.raw_value', 't.brand_timezone') }} end as value
    from typed as t
    left join phones as p
        on t.id_type in ('phone', 'whatsapp') and p.raw_value = t.raw_value and p.brand_timezone = t.brand_timezone
)

select
    source,
    brand_id,
    record_id,
    observed_at,
    id_type,
    raw_value,
    value,
    {{ invalid_identifier_reason('id_type', 'raw_value', 'value') }} as invalid_reason
    {%- for column in keep %},
    {{ column }}{% endfor %}
from normalized
{%- endmacro %}
