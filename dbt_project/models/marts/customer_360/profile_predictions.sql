-- The latest Customer.io prediction of each member profile, with its age and risk level.
with latest as (
    select *
    from {{ ref('stg_customerio__prediction_webhooks') }}
    where user_id is not null
    qualify row_number() over (partition by user_id order by received_at desc, webhook_id desc) = 1
),

members as (
    select profile_id, brand_id, cast(value as bigint) as user_id
    from {{ source('identity', 'identifier_profiles') }}
    where id_type = 'user_id'
        and profile_id not in (select profile_id from {{ ref('int_identity__erased_profiles') }})
)

select
    m.profile_id,
    m.brand_id,
    l.user_id,
    l.received_at as predicted_at,
    round({{ seconds_between('l.received_at', as_of()) }} / 3600, 1) as age_hours,
    {{ seconds_between('l.received_at', as_of()) }} / 3600 > {{ var('prediction_stale_after_hours') }} as is_stale,
    l.churn_probability,
    {{ churn_risk_level('l.churn_probability') }} as churn_risk_level,
    l.predicted_ltv,
    l.engagement_score,
    l.purchase_probability,
    l.predicted_purchase_value,
    l.recommended_segment,
    l.next_best_action,
    l.product_affinity_scores
from latest as l
inner join members as m using (user_id)
