-- The lifetimes / BTYD summary per member, in daily periods: frequency = repeat purchase days,
-- recency = days from the first to the last purchase day, T = days from the first purchase day
-- to the as-of date, monetary_value = mean value of the repeat purchase days (0 without any).
-- Days are the brand's local days, the as-of date included.
with members as (
    select m.profile_id, {{ local_date(as_of(), "coalesce(b.timezone, 'UTC')") }} as as_of_date
    from {{ ref('int_features__members') }} as m
    left join {{ ref('stg_app__brands') }} as b using (brand_id)
),

days as (
    select d.*, row_number() over (partition by d.profile_id order by d.purchase_date) as day_number
    from {{ ref('int_features__purchase_days') }} as d
    inner join members as m using (profile_id)
    where d.purchase_date <= m.as_of_date
)

select
    m.profile_id,
    cast(greatest(count(d.purchase_date) - 1, 0) as integer) as btyd_frequency,
    coalesce({{ days_between('min(d.purchase_date)', 'max(d.purchase_date)') }}, 0) as btyd_recency,
    {{ days_between('min(d.purchase_date)', 'm.as_of_date') }} as btyd_t,
    cast(coalesce(avg(d.day_value) filter (where d.day_number > 1), 0) as double) as btyd_monetary_value
from members as m
left join days as d using (profile_id)
group by m.profile_id, m.as_of_date
