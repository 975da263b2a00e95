-- Deep link and image templates per brand and action kind: the brand's own row, else the default.
select b.brand_id, d.action_kind,
    coalesce(o.url_template, d.url_template) as url_template,
    coalesce(o.image_url_template, d.image_url_template) as image_url_template
from {{ ref('stg_app__brands') }} as b
cross join (select * from {{ ref('card_actions') }} where brand_id is null) as d
left join {{ ref('card_actions') }} as o on o.brand_id = b.brand_id and o.action_kind = d.action_kind
