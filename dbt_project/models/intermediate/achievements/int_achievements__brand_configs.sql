-- Which achievement config applies in each brand: the brand's own config for a key, else the
-- global one.
select b.brand_id, a.achievement_config_id
from {{ ref('stg_app__brands') }} as b
inner join {{ ref('int_achievements__configs') }} as a on a.brand_id is null or a.brand_id = b.brand_id
qualify row_number() over (partition by b.brand_id, a.achievement_key order by a.brand_id nulls last) = 1
