{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_changed_profiles(this, member_days_inputs_digest(),
                                                                         member_days_changed_signups(this)) }}{% endif %}") }}
-- One row per member and brand-local day the member was active: any action, and the day they signed up.
-- With the day's purchase value (int_customer_360__purchases: what the platform counts as a purchase),
-- points earned (positive awards) and points redeemed (spent on rewards).
-- Actions, purchases and sign-ups are stacked and grouped by member and day in one pass. Purchase rows only add
-- their value: the days are those of the actions and the sign-up (`active`).
-- Incremental: a build computes again only the members whose events changed since the resolution this table last
-- applied (new events, events moved by identity resolution), whose sign-up day changed, and those it holds no row of;
-- the pre-hook deleted the changed ones' rows (macros/profile_aggregates.sql). Everything is written again when the
-- brands' time zones, the products' prices or the as-of var changed (`inputs_digest`). Without the var, the as-of
-- time is the newest action, so an action after the last build's as-of time is a new one. A full refresh gives the
-- same rows.
-- depends_on: {{ ref('int_identity__erased_profiles') }}, {{ source('identity', 'resolutions') }}
-- depends_on: {{ source('identity', 'record_profile_changes') }}
with members as (
    select m.profile_id, m.brand_id, m.created_at, b.timezone, {{ local_date('m.created_at', 'b.timezone') }} as signup_day
    from {{ ref('int_features__members') }} as m
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
    {%- if is_incremental() %}
    -- The members this build computes: those the table holds no row of once the pre-hook ran.
    where m.profile_id in {{ profiles_without_rows('select profile_id from ' ~ ref('int_features__members')) }}
    {%- endif %}
),

member_rows as (
    select e.profile_id, m.brand_id, m.signup_day, {{ local_date('e.occurred_at', 'm.timezone') }} as day, true as active,
        e.points_awarded, e.action_type, null as purchase_value
    from {{ ref('int_identity__profile_events') }} as e
    inner join members as m using (profile_id)
    where e.occurred_at <= {{ as_of() }}
    union all
    select p.profile_id, m.brand_id, m.signup_day, {{ local_date('p.occurred_at', 'm.timezone') }} as day, false as active,
        null as points_awarded, null as action_type, p.purchase_value
    from {{ ref('int_customer_360__purchases') }} as p
    inner join members as m using (profile_id)
    where p.occurred_at <= {{ as_of() }}
    union all
    select profile_id, brand_id, signup_day, signup_day as day, true as active, null as points_awarded, null as action_type, null as purchase_value
    from members
    where created_at <= {{ as_of() }}
),

days as (
    select profile_id, any_value(brand_id) as brand_id, day, any_value(signup_day) as signup_day,
        sum(points_awarded) filter (where points_awarded > 0) as points_earned,
        -sum(points_awarded) filter (where points_awarded < 0 and action_type = 'reward_redeemed') as points_redeemed,
        sum(purchase_value) as revenue
    from member_rows
    group by profile_id, day
    having bool_or(active)
)

select profile_id, brand_id, day,
    day = signup_day as is_signup_day,
    coalesce(points_earned, 0) as points_earned,
    coalesce(points_redeemed, 0) as points_redeemed,
    coalesce(revenue, 0) as revenue,
    {{ events_resolution() }} as resolution,
    {{ member_days_inputs_digest() }} as inputs_digest
from days
