-- The members each experiment follows for retention: one row per experiment and member, at the member's first
-- churn prediction at HIGH risk or above (var churn_risk_high) made while the experiment ran, with its outcome
-- (retained: not churned, once judged) and the member's arm. Members are compared by the arm they were
-- assigned (intent to treat), not by whether they saw a retention card: seeing one takes opening the app,
-- itself a sign of staying, so "shown" is recorded only to read the effect on those who saw one.
with first_flags as (
    select a.brand_id, a.experiment_key, a.arm, a.is_control, o.profile_id, o.prediction_date, o.predicted_at,
        o.churn_probability, o.is_judged, o.churned
    from {{ ref('churn_prediction_outcomes') }} as o
    inner join {{ ref('experiment_assignments') }} as a on a.profile_id = o.profile_id
    where o.is_high_risk and o.prediction_date >= a.starts_on and o.prediction_date < a.ends_on
    qualify row_number() over (partition by a.experiment_key, o.profile_id order by o.prediction_date) = 1
),

retention_impressions as (
    select profile_id, occurred_at
    from {{ ref('int_cards__feedback') }}
    where action_type = 'card_impression' and card_type = 'retention_offer'
)

select
    f.brand_id,
    f.experiment_key,
    f.arm,
    f.is_control,
    f.profile_id,
    f.prediction_date as cohort_date,
    f.predicted_at,
    f.churn_probability,
    f.is_judged,
    not f.churned as is_retained,
    -- within the churn window that judges the prediction
    exists (select 1 from retention_impressions as i
            where i.profile_id = f.profile_id and i.occurred_at >= f.predicted_at
                and i.occurred_at < f.predicted_at + {{ days_interval(var('churn_inactive_days')) }}) as was_shown_retention_card
from first_flags as f
