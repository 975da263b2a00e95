-- Which cards each member is shown, and in what order: candidates that pass their brand's rules, scored
-- propensity x value (scaled to the brand's largest of that type) x brand weight, at most one per type,
-- nothing the member dismissed recently, at most the brand's card cap. The explore_rewards fallback keeps
-- every member's list non-empty. A member in an experiment's control arm gets what that arm prescribes:
-- only the generic fallback card, or no card of the withheld type (seeds/cards/card_experiments.csv).
-- Selection runs on narrow rows (keys and numbers) in a model of its own; member_cards joins the text of
-- the chosen cards back. In one query the two needed more than DuckDB's 4 GB at 1M members.
with members as (
    select * from {{ ref('int_cards__member_context') }}
),

dismissed as (
    select profile_id, {{ json_text('context', '$.card_type') }} as card_type, max(occurred_at) as last_dismissed_at
    from {{ ref('int_identity__profile_events') }}
    where action_type = 'card_dismissed' and profile_id is not null
    group by all
),

-- What the member's active experiment arms take away from their cards.
policies as (
    select profile_id,
        bool_or(card_policy = 'generic_only') as generic_only,
        {{ grouped_list('withheld_card_type') }} filter (where card_policy = 'withhold_type') as withheld_types
    from {{ ref('experiment_assignments') }}
    where is_active
    group by profile_id
),

eligible as (
    select c.profile_id, c.card_type, c.card_key, c.propensity, c.value,
        c.brand_id, m.user_id, m.card_cap, s.weight, s.valid_days, s.suppress_days
    from {{ ref('int_cards__candidates') }} as c
    inner join members as m using (profile_id)
    inner join {{ ref('int_cards__settings') }} as s on s.brand_id = c.brand_id and s.card_type = c.card_type
    left join dismissed as d on d.profile_id = c.profile_id and d.card_type = c.card_type
    left join policies as p on p.profile_id = c.profile_id
    where (s.enabled or c.card_type = 'explore_rewards')
        and (c.card_type <> 'near_complete_achievement' or 100 * c.propensity >= coalesce(s.min_percent, 0))
        and (c.card_type <> 'retention_offer' or c.propensity >= coalesce(s.min_churn_probability, 0))
        and (d.last_dismissed_at is null or d.last_dismissed_at <= {{ as_of() }} - {{ days_interval('s.suppress_days') }})
        and (c.card_type = 'explore_rewards' or not coalesce(p.generic_only, false))
        and not coalesce({{ list_has('p.withheld_types', 'c.card_type') }}, false)
),

largest_value as (  -- the brand's largest value of each card type scales its values to 0-1
    select brand_id, card_type, max(value) as max_value
    from eligible
    group by all
),

scored as (
    select e.*, e.propensity * (e.value / nullif(l.max_value, 0)) * e.weight as score
    from eligible as e
    inner join largest_value as l using (brand_id, card_type)
    qualify row_number() over (partition by e.profile_id, e.card_type order by
        e.propensity * e.value desc, e.card_key) = 1
),

ranked as (
    select *, row_number() over (partition by profile_id
        order by card_type = 'explore_rewards', score desc, card_type) as position,
        count(*) filter (where card_type <> 'explore_rewards') over (partition by profile_id) as real_cards,
        -- Days, not the as-of instant, in staggered periods (macros/card_validity.sql): rebuilds leave
        -- unchanged cards byte-identical, so publishing rewrites only the members whose cards really changed.
        {{ card_valid_from("date_trunc('day', " ~ as_of() ~ ")", 'profile_id', 'valid_days') }} as valid_from
    from scored
)

select brand_id, user_id, profile_id, card_type, card_key, cast(position as integer) as position,
    cast(round(coalesce(score, 0), 6) as decimal(12, 6)) as score, suppress_days, valid_from,
    valid_from + {{ days_interval('2 * greatest(valid_days, 1)') }} as valid_until
from ranked
where position <= card_cap and (card_type <> 'explore_rewards' or real_cards = 0)
