-- Recency, frequency and monetary value of each member over the RFM window (var rfm_window_days,
-- counted back from the build's as-of time; recency in the brand's local days). Members without a
-- purchase in the window have frequency and monetary 0 and no recency.
with purchases as (
    select p.profile_id, p.occurred_at, coalesce(p.purchase_value, 0) as purchase_value
    from {{ ref('int_customer_360__purchases') }} as p
    where p.occurred_at > {{ as_of() }} - {{ days_interval(var('rfm_window_days')) }}
        and p.occurred_at <= {{ as_of() }}
)

select
    m.brand_id,
    m.user_id,
    m.profile_id,
    {{ local_days_between('max(p.occurred_at)', as_of(), "coalesce(b.timezone, 'UTC')") }} as recency_days,
    max(p.occurred_at) as last_purchase_at,
    count(p.occurred_at) as frequency,
    cast(coalesce(sum(p.purchase_value), 0) as double) as monetary
from {{ ref('int_features__members') }} as m
left join {{ ref('stg_app__brands') }} as b using (brand_id)
left join purchases as p using (profile_id)
group by m.brand_id, m.user_id, m.profile_id, b.timezone
