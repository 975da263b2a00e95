-- Each experiment's treatment arms against its control, so far: per brand, experiment, treatment arm,
-- card type ('all' pools every type) and metric (ctr: clicked impressions, conversion_rate: converted
-- impressions). The uplift is the difference of the two rates with Newcombe's 95% hybrid score
-- interval (macros/two_proportions.sql); an interval that excludes 0 is significant. The sample size
-- is what each arm needs to detect the experiment's min_detectable_uplift (relative to the control's
-- rate) at 5% significance with 80% power; the still-needed columns say how far each arm is from it.
-- Impressions are the trials: a member seen many times weighs more (docs/experiments.md).
with totals as (
    select brand_id, experiment_key, arm, coalesce(card_type, 'all') as card_type,
        sum(impressions) as impressions, sum(clicks) as clicks, sum(conversions) as conversions
    from {{ ref('card_performance') }}
    where experiment_key is not null
    group by grouping sets ((brand_id, experiment_key, arm, card_type), (brand_id, experiment_key, arm))
),

metrics as (
    select t.brand_id, t.experiment_key, t.arm, a.is_control, a.min_detectable_uplift, t.card_type, m.metric,
        t.impressions as trials, case m.metric when 'ctr' then t.clicks else t.conversions end as successes
    from totals as t
    inner join {{ ref('int_cards__experiment_arms') }} as a using (brand_id, experiment_key, arm)
    cross join (values ('ctr'), ('conversion_rate')) as m(metric)
),

pairs as (
    select t.brand_id, t.experiment_key, t.arm, t.card_type, t.metric, t.min_detectable_uplift,
        cast(t.trials as double) as n1, cast(t.successes as double) as x1,
        cast(c.trials as double) as n0, cast(c.successes as double) as x0, c.arm as control_arm
    from metrics as t
    inner join metrics as c
        on c.brand_id = t.brand_id and c.experiment_key = t.experiment_key and c.card_type = t.card_type
        and c.metric = t.metric and c.is_control
    where not t.is_control
),

compared as (
    select *, {{ two_proportion_estimates() }}
    from pairs
)

select
    brand_id,
    experiment_key,
    arm,
    control_arm,
    card_type,
    metric,
    {{ two_proportion_comparison('impressions', 'successes', 'rate') }}
from compared
