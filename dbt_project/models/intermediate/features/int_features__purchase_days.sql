-- One row per member and purchase day (the brand's local date): the daily periods of the
-- lifetimes / BTYD convention, with the day's purchase count and value.
select
    p.brand_id,
    m.user_id,
    p.profile_id,
    {{ local_date('p.occurred_at', 'b.timezone') }} as purchase_date,
    count(*) as purchases,
    sum(coalesce(p.purchase_value, 0)) as day_value,
    max(p.occurred_at) as last_purchase_at
from {{ ref('int_customer_360__purchases') }} as p
inner join {{ ref('int_features__members') }} as m using (profile_id)
inner join {{ ref('stg_app__brands') }} as b on b.brand_id = p.brand_id
group by all
