-- Every experiment a brand runs splits all its traffic, has exactly one control arm, one set of dates
-- that ends after it starts, and withholds a card type only when its arm says so.
select brand_id, experiment_key
from {{ ref('int_cards__experiment_arms') }}
group by all
having abs(sum(traffic_percent) - 100) > 1e-9
    or count(*) filter (where is_control) <> 1
    or count(distinct (starts_on, ends_on, min_detectable_uplift)) <> 1
    or bool_or(ends_on <= starts_on)
    or bool_or((card_policy = 'withhold_type') <> (withheld_card_type is not null))
