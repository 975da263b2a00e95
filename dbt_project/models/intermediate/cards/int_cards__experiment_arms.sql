-- The experiments each brand runs, one row per arm, with the arm's range of assignment buckets
-- (0-9999): a brand's own rows of an experiment key replace the default rows of that key (empty
-- brand_id), like the card settings. Arms take consecutive bucket ranges, in the order of their
-- names, as wide as their traffic percent (80% = 8,000 buckets).
with defined as (
    -- The seed's columns by name: Spark's SQL cannot leave brand_id out of e.*.
    select b.brand_id, e.experiment_key, e.starts_on, e.ends_on, e.arm, e.traffic_percent, e.is_control,
        e.card_policy, e.withheld_card_type, e.min_detectable_uplift
    from {{ ref('stg_app__brands') }} as b
    inner join {{ ref('card_experiments') }} as e on e.brand_id = b.brand_id or e.brand_id is null
    -- In the where clause, not the join: Spark's joins cannot hold a subquery that reads both sides.
    where e.brand_id is not null
        or not exists (select 1 from {{ ref('card_experiments') }} as o
                       where o.brand_id = b.brand_id and o.experiment_key = e.experiment_key)
),

ranged as (
    select *,
        cast(round(100 * sum(traffic_percent) over (partition by brand_id, experiment_key order by arm
            rows between unbounded preceding and current row)) as integer) as bucket_to
    from defined
)

select brand_id, experiment_key, arm, starts_on, ends_on, traffic_percent, is_control, card_policy, withheld_card_type,
    min_detectable_uplift,
    coalesce(lag(bucket_to) over (partition by brand_id, experiment_key order by arm), 0) as bucket_from,
    bucket_to
from ranged
