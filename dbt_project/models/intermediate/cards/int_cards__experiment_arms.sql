-- The experiments each brand runs, one row per arm, with the arm's range of assignment buckets
-- (0-9999): a brand's own rows of an experiment key replace the default rows of that key (empty
-- brand_id), like the card settings. Arms take consecutive bucket ranges, in the order of their
-- names, as wide as their traffic percent (80% = 8,000 buckets).
with defined as (
    select b.brand_id, e.*  exclude (brand_id)
    from {{ ref('stg_app__brands') }} as b
    inner join {{ ref('card_experiments') }} as e
        on e.brand_id = b.brand_id
        or (e.brand_id is null and not exists (select 1 from {{ ref('card_experiments') }} as o
                                               where o.brand_id = b.brand_id and o.experiment_key = e.experiment_key))
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
