-- One row per filter condition of an achievement: {"product_form": "Vape Cartridge"} is
-- (product_form, =, Vape Cartridge); {"amount": {"<": 25}} is (amount, <, 25).
with keys as (
    select achievement_config_id, filters, {{ unnest_list(json_keys_of('filters')) }} as attribute
    from {{ ref('int_achievements__configs') }}
    where filters is not null and {{ json_is_object('filters') }}
),

conditions as (
    select achievement_config_id, attribute, {{ json_member('filters', 'attribute') }} as condition
    from keys
)

select achievement_config_id, attribute, '=' as operator, {{ json_text('condition', '$') }} as value
from conditions
where not {{ json_is_object('condition') }}
union all
select achievement_config_id, attribute, op as operator, {{ json_member_text('condition', 'op') }} as value
from (select *, {{ unnest_list(json_keys_of('condition')) }} as op from conditions where {{ json_is_object('condition') }})
