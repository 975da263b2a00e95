-- Revenue per member of each experiment's treatment arms against its control (the spec's "revenue impact vs.
-- control group"): per brand, experiment and treatment arm. Every assigned member counts, with nothing when
-- they bought nothing (intent to treat); revenue is the purchase value of the brand-local days from the
-- experiment's start up to its end or the build's as-of day (int_kpis__member_days). The difference of the
-- means has Welch's 95% interval (normal quantile: arms are large); the size is what each arm needs to detect
-- min_detectable_uplift of the control's mean at 5% two-sided with 80% power, from the control's variance.
with member_revenue as (
    select a.brand_id, a.experiment_key, a.arm, a.is_control, a.profile_id,
        cast(coalesce(sum(d.revenue) filter (where d.day >= a.starts_on and d.day < a.ends_on), 0) as double) as revenue
    from {{ ref('experiment_assignments') }} as a
    -- Only the days with revenue: the others add nothing, and joining every active day of a member to each of
    -- their assignments was most of this model's time.
    left join {{ ref('int_kpis__member_days') }} as d on d.profile_id = a.profile_id and d.revenue <> 0
    group by all
),

arms as (
    select r.brand_id, r.experiment_key, r.arm, r.is_control, e.min_detectable_uplift,
        count(*) as members, sum(r.revenue) as revenue, avg(r.revenue) as mean, var_samp(r.revenue) as variance
    from member_revenue as r
    inner join {{ ref('int_cards__experiment_arms') }} as e using (brand_id, experiment_key, arm)
    group by all
),

compared as (
    select t.brand_id, t.experiment_key, t.arm, c.arm as control_arm, t.min_detectable_uplift,
        t.members as n1, t.revenue as revenue1, t.mean as mean1, c.members as n0, c.revenue as revenue0, c.mean as mean0,
        t.mean - c.mean as uplift,
        {{ z_alpha() }} * sqrt(t.variance / t.members + c.variance / c.members) as margin,
        ceil(2 * {{ power('(' ~ z_alpha() ~ ' + ' ~ z_power() ~ ')', 2) }} * c.variance
             / nullif({{ power('(t.min_detectable_uplift * c.mean)', 2) }}, 0)) as needed
    from arms as t
    inner join arms as c on c.brand_id = t.brand_id and c.experiment_key = t.experiment_key and c.is_control
    where not t.is_control
)

select
    brand_id,
    experiment_key,
    arm,
    control_arm,
    n1 as treatment_members,
    round(revenue1, 2) as treatment_revenue,
    round(mean1, 6) as treatment_revenue_per_member,
    n0 as control_members,
    round(revenue0, 2) as control_revenue,
    round(mean0, 6) as control_revenue_per_member,
    {{ arm_comparison('members', 'mean0') }}
from (select *, uplift - margin as uplift_lower, uplift + margin as uplift_upper from compared)
