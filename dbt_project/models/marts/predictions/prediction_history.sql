{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_changed_prediction_profiles(this) }}{% endif %}") }}
-- Every Customer.io prediction kept as history: one row per member profile and prediction date (the brand's
-- calendar day it was received), each field the latest value received that day. A payload carries only
-- some fields (churn, affinity or purchase predictions), so each field keeps its own latest.
-- Incremental: a build computes again only the profiles whose payloads changed (new or late webhooks, a prediction in
-- a new people export, erasures, members identity resolution moved) and those it holds no row of; the pre-hook
-- deleted the changed ones' rows (macros/prediction_history.sql). Everything is written again when the brands or their
-- time zones or the churn risk cut points changed (`inputs_digest`). A full refresh gives the same rows, but for
-- `exports_loaded_at`, which says when a row was written.

-- The members this build computes: incrementally, those of the profiles the table holds no row of once the pre-hook
-- ran.
with members as {{ materialized_cte() }} (
    select m.user_id, m.profile_id, m.brand_id
    from {{ ref('int_features__members') }} as m
    {%- if is_incremental() %}
    {{ anti_join() }} {{ this }} as kept on kept.profile_id = m.profile_id
    {%- endif %}
),

digests as (
    {{ prediction_payloads_digests('members') }}
),

payloads as (
    select m.profile_id, m.brand_id, d.payloads_digest, p.*,
        {{ local_date('p.received_at', 'b.timezone') }} as prediction_date,
        -- Each field's latest is its value in the payload of the greatest (received_at, payload_id).
        {{ group_ordinal(['p.received_at', 'p.payload_id'],
                         ['m.profile_id', 'm.brand_id', local_date('p.received_at', 'b.timezone')]) }} as payload_order
    from (
        {{ webhook_prediction_payloads(users='select user_id from members' if is_incremental() else none) }}
        union all
        {{ export_prediction_payloads(users='select user_id from members' if is_incremental() else none) }}
    ) as p
    inner join members as m using (user_id)
    inner join digests as d using (profile_id)
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
    {{ arg_max('next_best_action', 'payload_order') }} filter (where next_best_action is not null) as next_best_action,
    any_value(payloads_digest) as payloads_digest,
    {{ exports_loaded_at() }} as exports_loaded_at,
    {{ prediction_history_inputs_digest() }} as inputs_digest
from payloads
group by profile_id, brand_id, prediction_date
