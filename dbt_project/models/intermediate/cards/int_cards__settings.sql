-- Card settings per brand and type: the brand's own row, else the default.
select b.brand_id, d.card_type,
    coalesce(o.enabled, d.enabled) as enabled,
    coalesce(o.weight, d.weight) as weight,
    coalesce(o.min_percent, d.min_percent) as min_percent,
    coalesce(o.min_churn_probability, d.min_churn_probability) as min_churn_probability,
    coalesce(o.suppress_days, d.suppress_days) as suppress_days,
    coalesce(o.valid_days, d.valid_days) as valid_days
from {{ ref('stg_app__brands') }} as b
cross join (select * from {{ ref('card_settings') }} where brand_id is null) as d
left join {{ ref('card_settings') }} as o on o.brand_id = b.brand_id and o.card_type = d.card_type
