-- One row per filter condition of an achievement: {"product_form": "Vape Cartridge"} is
-- (product_form, =, Vape Cartridge); {"amount": {"<": 25}} is (amount, <, 25).
with keys as (
    select achievement_config_id, filters, unnest(json_keys(filters)) as attribute
    from {{ ref('int_achievements__configs') }}
    where filters is not null and json_type(filters) = 'OBJECT'
),

conditions as (
    select achievement_config_id, attribute, filters -> ('$."' || attribute || '"') as condition
    from keys
)

select achievement_config_id, attribute, '=' as operator, condition ->> '$' as value
from conditions
where json_type(condition) <> 'OBJECT'
union all
select achievement_config_id, attribute, op as operator, condition ->> ('$."' || op || '"') as value
from (select *, unnest(json_keys(condition)) as op from conditions where json_type(condition) = 'OBJECT')
