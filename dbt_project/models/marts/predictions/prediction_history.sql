-- Every Customer.io prediction kept as history: one row per member profile and prediction date (the brand's
-- calendar day it was received), each field the latest value received that day. A payload carries only
-- some fields (churn, affinity or purchase predictions), so each field keeps its own latest.
with webhook_payloads as (
    select user_id, received_at, webhook_id as payload_id, false as is_export,
        churn_probability, engagement_score, predicted_ltv, purchase_probability, predicted_purchase_value,
        recommended_segment, next_best_action
    from {{ ref('stg_customerio__prediction_webhooks') }}
),

-- A people export carries the prediction attributes Customer.io holds: usually the values its webhooks
-- already delivered, sometimes one the receiver missed. Only a value that differs from the member's latest
-- webhook value of that field before the export is a prediction of its own, dated by the export (it was made
-- no later than that).
-- Its rows have webhook_payloads' columns in the same order, which the union below matches by position.
exported as (
    select try_cast(customer_id as bigint) as user_id, exported_at as received_at,
        person_key || '@' || {{ format_instant('exported_at', '%Y%m%dT%H%M%S') }} as payload_id,
        try_cast({{ json_text('attributes', '$.churn_probability') }} as double) as churn_probability,
        try_cast({{ json_text('attributes', '$.predicted_ltv') }} as double) as predicted_ltv
    from {{ ref('stg_customerio__exports') }}
),

received_churn as (
    select user_id, received_at, churn_probability from webhook_payloads where churn_probability is not null
),

received_ltv as (
    select user_id, received_at, predicted_ltv from webhook_payloads where predicted_ltv is not null
),

export_payloads as (
    select e.user_id, e.received_at, e.payload_id, true as is_export,
        case when e.churn_probability is distinct from c.churn_probability then e.churn_probability end
            as churn_probability,
        null as engagement_score,
        case when e.predicted_ltv is distinct from l.predicted_ltv then e.predicted_ltv end as predicted_ltv,
        null as purchase_probability, null as predicted_purchase_value, null as recommended_segment,
        null as next_best_action
    from exported as e
    {{ asof_left_join('received_churn', 'c', 'user_id', 'e.user_id', 'received_at', '<=', 'e.received_at') }}
    {{ asof_left_join('received_ltv', 'l', 'user_id', 'e.user_id', 'received_at', '<=', 'e.received_at') }}
),

payloads as (
    select m.profile_id, m.brand_id, p.*,
        {{ local_date('p.received_at', 'b.timezone') }} as prediction_date,
        -- Each field's latest is its value in the payload of the greatest (received_at, payload_id).
        {{ group_ordinal(['p.received_at', 'p.payload_id'],
                         ['m.profile_id', 'm.brand_id', local_date('p.received_at', 'b.timezone')]) }} as payload_order
    from (
        select * from webhook_payloads
        union all
        select * from export_payloads where churn_probability is not null or predicted_ltv is not null
    ) as p
    inner join {{ ref('int_features__members') }} as m using (user_id)
    inner join {{ ref('stg_app__brands') }} as b on b.brand_id = m.brand_id
)

select
    profile_id,
    brand_id,
    any_value(user_id) as user_id,
    prediction_date,
    count(*) as payloads,
    count(*) filter (where is_export) as export_payloads,
    max(received_at) as last_received_at,
    {{ arg_max('churn_probability', 'payload_order') }} filter (where churn_probability is not null) as churn_probability,
    max(received_at) filter (where churn_probability is not null) as churn_predicted_at,
    {{ churn_risk_level(arg_max('churn_probability', 'payload_order') ~ " filter (where churn_probability is not null)") }}
        as churn_risk_level,
    {{ arg_max('engagement_score', 'payload_order') }} filter (where engagement_score is not null) as engagement_score,
    {{ arg_max('predicted_ltv', 'payload_order') }} filter (where predicted_ltv is not null) as predicted_ltv,
    {{ arg_max('purchase_probability', 'payload_order') }} filter (where purchase_probability is not null)
        as purchase_probability,
    {{ arg_max('predicted_purchase_value', 'payload_order') }} filter (where predicted_purchase_value is not null)
        as predicted_purchase_value,
    {{ arg_max('recommended_segment', 'payload_order') }} filter (where recommended_segment is not null)
        as recommended_segment,
    {{ arg_max('next_best_action', 'payload_order') }} filter (where next_best_action is not null) as next_best_action
from payloads
group by profile_id, brand_id, prediction_date
