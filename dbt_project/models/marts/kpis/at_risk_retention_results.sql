-- Each experiment's treatment arms against its control on the retention of at-risk members, pooled over every
-- judged cohort (each member counted once, at their first HIGH risk flag). The uplift is the difference of the
-- retention rates with Newcombe's 95% hybrid score interval (macros/two_proportions.sql), the comparison by
-- assigned arm (intent to treat). effect_on_shown divides it by the share of the treatment arm shown a
-- retention card (Bloom's estimator: control members are never shown one when the arm withholds it).
with arms as (
    select m.brand_id, m.experiment_key, m.arm, m.is_control, a.min_detectable_uplift,
        max(m.cohort_date) filter (where m.is_judged) as through_cohort_date,
        cast(count(*) filter (where m.is_judged) as double) as judged,
        cast(count(*) filter (where m.is_judged and m.is_retained) as double) as retained,
        cast(count(*) filter (where m.is_judged and m.was_shown_retention_card) as double) as shown
    from {{ ref('int_kpis__at_risk_members') }} as m
    inner join {{ ref('int_cards__experiment_arms') }} as a using (brand_id, experiment_key, arm)
    group by all
),

pairs as (
    select t.brand_id, t.experiment_key, t.arm, c.arm as control_arm, t.min_detectable_uplift,
        greatest(t.through_cohort_date, c.through_cohort_date) as through_cohort_date,
        t.judged as n1, t.retained as x1, c.judged as n0, c.retained as x0, t.shown / nullif(t.judged, 0) as shown_rate
    from arms as t
    inner join arms as c on c.brand_id = t.brand_id and c.experiment_key = t.experiment_key and c.is_control
    where not t.is_control and t.judged > 0 and c.judged > 0
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
    through_cohort_date,
    {{ two_proportion_comparison('members', 'retained', 'retention_rate') }},
    round(shown_rate, 6) as shown_rate,
    round(uplift / nullif(shown_rate, 0), 6) as effect_on_shown
from compared
