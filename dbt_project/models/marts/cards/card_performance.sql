-- How cards perform, per brand, day (UTC, of the impression), card type and experiment arm:
-- impressions, clicks, dismissals and conversions (int_cards__impression_outcomes says how each is
-- attributed) and their rates per impression. An impression counts once in each experiment its
-- document carried, so read one experiment_key at a time; impressions that carried none have
-- experiment_key and arm null.
with by_arm as (
    select o.*, x.key as experiment_key, x.arm
    from {{ ref('int_cards__impression_outcomes') }} as o,
        {{ unnest_rows_or_null('o.experiments', ['key', 'arm']) }} as t(x)
)

select
    brand_id,
    occurred_on,
    card_type,
    experiment_key,
    arm,
    count(*) as impressions,
    count(distinct profile_id) as members,
    count(*) filter (where clicked) as clicks,
    count(*) filter (where dismissed) as dismissals,
    count(*) filter (where converted) as conversions,
    round(count(*) filter (where clicked) / count(*), 6) as ctr,
    round(count(*) filter (where dismissed) / count(*), 6) as dismissal_rate,
    round(count(*) filter (where converted) / count(*), 6) as conversion_rate
from by_arm
group by all
