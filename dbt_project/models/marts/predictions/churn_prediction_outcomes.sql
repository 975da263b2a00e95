-- Each churn prediction of the history next to what followed it. Churn is the seeds' definition: no
-- action at all for var churn_inactive_days days. A prediction is judged once that many days have passed
-- after it by the build's as-of time; it came true when the member's next action after it is later than
-- that (or never came). Earlier predictions are kept, unjudged, with a null outcome.
with predictions as (
    select profile_id, brand_id, user_id, prediction_date, churn_predicted_at as predicted_at, churn_probability,
        churn_risk_level
    from {{ ref('prediction_history') }}
    where churn_probability is not null
),

actions as (
    select profile_id, occurred_at
    from {{ ref('int_identity__profile_events') }}
    where profile_id is not null and occurred_at <= {{ as_of() }}
),

-- The member's first action after the prediction (ASOF: one probe per prediction, no range join).
next_action as (
    select p.*, a.occurred_at as next_action_at
    from predictions as p
    {{ asof_left_join('actions', 'a', 'profile_id', 'p.profile_id', 'occurred_at', '>', 'p.predicted_at') }}
)

select
    profile_id,
    brand_id,
    user_id,
    prediction_date,
    predicted_at,
    churn_probability,
    churn_risk_level,
    churn_probability >= {{ var('churn_risk_high') }} as is_high_risk,
    next_action_at,
    predicted_at + {{ days_interval(var('churn_inactive_days')) }} <= {{ as_of() }} as is_judged,
    case when predicted_at + {{ days_interval(var('churn_inactive_days')) }} <= {{ as_of() }} then
        next_action_at is null or next_action_at > predicted_at + {{ days_interval(var('churn_inactive_days')) }}
    end as churned
from next_action
