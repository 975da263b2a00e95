-- Every Customer.io prediction kept as history: one row per member profile and prediction date (the
-- brand's calendar day it was received), each field the latest value received that day. A payload
-- carries only some fields (churn, affinity or purchase predictions), so each field keeps its own latest.
with payloads as (
    select m.profile_id, m.brand_id, w.user_id, w.webhook_id, w.received_at,
        {{ local_date('w.received_at', 'b.timezone') }} as prediction_date,
        w.churn_probability, w.engagement_score, w.predicted_ltv, w.purchase_probability,
        w.predicted_purchase_value, w.recommended_segment, w.next_best_action
    from {{ ref('stg_customerio__prediction_webhooks') }} as w
    inner join {{ ref('int_features__members') }} as m using (user_id)
    inner join {{ ref('stg_app__brands') }} as b on b.brand_id = m.brand_id
)

select
    profile_id,
    brand_id,
    any_value(user_id) as user_id,
    prediction_date,
    count(*) as payloads,
    max(received_at) as last_received_at,
    arg_max(churn_probability, (received_at, webhook_id)) filter (where churn_probability is not null) as churn_probability,
    max(received_at) filter (where churn_probability is not null) as churn_predicted_at,
    {{ churn_risk_level("arg_max(churn_probability, (received_at, webhook_id)) filter (where churn_probability is not null)") }}
        as churn_risk_level,
    arg_max(engagement_score, (received_at, webhook_id)) filter (where engagement_score is not null) as engagement_score,
    arg_max(predicted_ltv, (received_at, webhook_id)) filter (where predicted_ltv is not null) as predicted_ltv,
    arg_max(purchase_probability, (received_at, webhook_id)) filter (where purchase_probability is not null)
        as purchase_probability,
    arg_max(predicted_purchase_value, (received_at, webhook_id)) filter (where predicted_purchase_value is not null)
        as predicted_purchase_value,
    arg_max(recommended_segment, (received_at, webhook_id)) filter (where recommended_segment is not null)
        as recommended_segment,
    arg_max(next_best_action, (received_at, webhook_id)) filter (where next_best_action is not null) as next_best_action
from payloads
group by profile_id, brand_id, prediction_date
