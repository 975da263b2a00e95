-- One row per member and brand-local day the member was active: any action, and the day they signed up.
-- With the day's purchase value (int_customer_360__purchases: what the platform counts as a purchase),
-- points earned (positive awards) and points redeemed (spent on rewards).
with members as (
    select m.profile_id, m.brand_id, m.created_at, b.timezone
    from {{ ref('int_features__members') }} as m
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
),

actions as (
    select e.profile_id, {{ local_date('e.occurred_at', 'm.timezone') }} as day,
        coalesce(e.points_awarded, 0) as points_awarded, e.action_type
    from {{ ref('int_identity__profile_events') }} as e
    inner join members as m using (profile_id)
    where e.occurred_at <= {{ as_of() }}
),

purchases as (
    select p.profile_id, {{ local_date('p.occurred_at', 'm.timezone') }} as day, sum(p.purchase_value) as revenue
    from {{ ref('int_customer_360__purchases') }} as p
    inner join members as m using (profile_id)
    where p.occurred_at <= {{ as_of() }}
    group by all
),

action_days as (
    select profile_id, day,
        sum(points_awarded) filter (where points_awarded > 0) as points_earned,
        -sum(points_awarded) filter (where points_awarded < 0 and action_type = 'reward_redeemed') as points_redeemed
    from actions
    group by all
),

signup_days as (
    select profile_id, {{ local_date('created_at', 'timezone') }} as day
    from members
    where created_at <= {{ as_of() }}
)

select m.profile_id, m.brand_id, d.day,
    d.day = {{ local_date('m.created_at', 'm.timezone') }} as is_signup_day,
    coalesce(a.points_earned, 0) as points_earned,
    coalesce(a.points_redeemed, 0) as points_redeemed,
    coalesce(p.revenue, 0) as revenue
from (select profile_id, day from action_days union select profile_id, day from signup_days) as d
inner join members as m using (profile_id)
left join action_days as a using (profile_id, day)
left join purchases as p using (profile_id, day)
