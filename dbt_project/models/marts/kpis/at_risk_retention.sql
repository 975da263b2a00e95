-- Retention of at-risk members per brand, experiment, arm and cohort day (the brand-local day of each
-- member's first HIGH churn risk prediction while the experiment ran; int_kpis__at_risk_members). A member
-- is retained when the prediction did not come true: an action within var churn_inactive_days after it.
select
    brand_id,
    experiment_key,
    arm,
    is_control,
    cohort_date,
    count(*) as at_risk_members,
    count(*) filter (where is_judged) as judged_members,
    count(*) filter (where is_judged and is_retained) as retained_members,
    round(count(*) filter (where is_judged and is_retained) / nullif(count(*) filter (where is_judged), 0), 6)
        as retention_rate,
    count(*) filter (where was_shown_retention_card) as shown_retention_card,
    round(count(*) filter (where was_shown_retention_card) / count(*), 6) as shown_rate
from {{ ref('int_kpis__at_risk_members') }}
group by brand_id, experiment_key, arm, is_control, cohort_date
