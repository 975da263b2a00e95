-- The lifetimes / BTYD summary per member, in daily periods: frequency = repeat purchase days,
-- recency = days from the first to the last purchase day, T = days from the first purchase day
-- to the as-of date, monetary_value = mean value of the repeat purchase days (0 without any).
with days as (
    select *, row_number() over (partition by profile_id order by purchase_date) as day_number
    from {{ ref('int_features__purchase_days') }}
    where purchase_date <= cast({{ as_of() }} as date)
)

select
    m.profile_id,
    cast(greatest(count(d.purchase_date) - 1, 0) as integer) as btyd_frequency,
    coalesce(date_diff('day', min(d.purchase_date), max(d.purchase_date)), 0) as btyd_recency,
    date_diff('day', min(d.purchase_date), cast({{ as_of() }} as date)) as btyd_t,
    cast(coalesce(avg(d.day_value) filter (where d.day_number > 1), 0) as double) as btyd_monetary_value
from {{ ref('int_features__members') }} as m
left join days as d using (profile_id)
group by all
