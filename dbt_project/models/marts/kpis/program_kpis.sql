-- The program's success metrics (ai-personalization-feature-spec, Success Criteria) per brand and
-- brand-local day, from the brand's first day of actions to the build's as-of day. A member is active on a
-- day with any action that day (signing up included); the window W is var kpi_window_days (30), the churn
-- gap C var churn_inactive_days (90). docs/kpis.md defines every column.
--
-- Counts over time come from spans, not from a members x days product: a member is a monthly active for
-- the W days from each active day until the next one, and churned from C days after an active day until
-- the next one; each span adds +1 where it starts and -1 where it ends, and a running sum per brand counts
-- who is inside on each day.
with member_days as (
    select *, lead(day) over (partition by profile_id order by day) as next_day
    from {{ ref('int_kpis__member_days') }}
),

brand_days as (
    select b.brand_id, cast(s.day as date) as day
    from (select brand_id, min(day) as first_day from member_days where not is_signup_day group by all) as f
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
    cross join lateral {{ days_from_to('f.first_day', local_date(as_of(), 'b.timezone')) }} as s(day)
),

changes as (
    select brand_id, day, 1 as members, 0 as monthly_active, 0 as churned from member_days where is_signup_day
    union all
    select brand_id, day, 0, 1, 0 from member_days
    union all
    select brand_id, least(day + {{ var('kpi_window_days') }}, coalesce(next_day, day + {{ var('kpi_window_days') }})), 0, -1, 0
    from member_days
    union all
    select brand_id, day + {{ var('churn_inactive_days') }}, 0, 0, 1
    from member_days where coalesce(next_day > day + {{ var('churn_inactive_days') }}, true)
    union all
    select brand_id, next_day, 0, 0, -1
    from member_days where next_day > day + {{ var('churn_inactive_days') }}
    union all
    select brand_id, day, 0, 0, 0 from brand_days
),

daily as (
    select d.brand_id, d.day,
        coalesce(a.active, 0) as active, coalesce(a.points_earned, 0) as points_earned,
        coalesce(a.points_redeemed, 0) as points_redeemed, coalesce(a.revenue, 0) as revenue,
        d.members, d.monthly_active, d.churned
    from (select brand_id, day, sum(members) as members, sum(monthly_active) as monthly_active, sum(churned) as churned
          from changes group by all) as d
    left join (select brand_id, day, count(*) as active, sum(points_earned) as points_earned,
                   sum(points_redeemed) as points_redeemed, sum(revenue) as revenue
               from member_days group by all) as a using (brand_id, day)
),

running as (
    select brand_id, day, active,
        sum(members) over cumulative as members,
        sum(monthly_active) over cumulative as monthly_active,
        sum(churned) over cumulative as churned,
        sum(points_earned) over recent as points_earned,
        sum(points_redeemed) over recent as points_redeemed,
        sum(revenue) over recent as revenue
    from daily
    window cumulative as (partition by brand_id order by day rows between unbounded preceding and current row),
        recent as (partition by brand_id order by day
                     range between {{ days_window_start(var('kpi_window_days')) }} and current row)
),

-- Recommendation CTR: card impressions and the clicks they drew (int_cards__impression_outcomes: one row
-- per impression, whatever experiments it carried), per brand-local day of the impression.
card_days as (
    select o.brand_id, {{ local_date('o.occurred_at', 'b.timezone') }} as day,
        count(*) as card_impressions, count(*) filter (where o.clicked) as card_clicks
    from {{ ref('int_cards__impression_outcomes') }} as o
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
    group by all
)

select
    r.brand_id,
    r.day,
    cast({{ days_between('min(r.day) over (partition by r.brand_id)', 'r.day') }} + 1 as bigint) as days_observed,
    cast(r.members as bigint) as members,
    cast(r.active as bigint) as daily_active,
    cast(r.monthly_active as bigint) as monthly_active,
    round({{ ratio('r.active', 'nullif(r.monthly_active, 0)') }}, 4) as dau_mau,
    cast(r.points_earned as bigint) as points_earned,
    cast(r.points_redeemed as bigint) as points_redeemed,
    round({{ ratio('r.points_redeemed', 'nullif(r.points_earned, 0)') }}, 4) as redemption_rate,
    cast(r.churned as bigint) as churned_members,
    round({{ ratio('r.churned', 'nullif(r.members, 0)') }}, 4) as churn_rate,
    -- Before that many days of actions, members who joined earlier look churned for want of history.
    {{ days_between('min(r.day) over (partition by r.brand_id)', 'r.day') }} >= {{ var('churn_inactive_days') }} as is_churn_observable,
    cast(round(r.revenue, 2) as double) as revenue,
    round({{ ratio('r.revenue', 'nullif(r.members, 0)') }}, 4) as revenue_per_member,
    coalesce(c.card_impressions, 0) as card_impressions,
    coalesce(c.card_clicks, 0) as card_clicks,
    round({{ ratio('c.card_clicks', 'nullif(c.card_impressions, 0)') }}, 4) as recommendation_ctr
from running as r
inner join brand_days using (brand_id, day)
left join card_days as c using (brand_id, day)
