-- What became of each card impression. A click or dismissal belongs to the latest impression of the
-- same card before it, if it came within var('card_feedback_window_hours'). A conversion is the action
-- the card asked for (seeds/cards/card_conversions.csv: a redemption, a scan, a referral, an achievement
-- ...) done by the member within the type's window_hours after the impression; each conversion event
-- counts once, for the latest impression before it of a card type that asks for that action
-- (last touch), so repeated impressions do not multiply one conversion.
with feedback as (
    select * from {{ ref('int_cards__feedback') }}
),

impressions as (
    select f.*, c.conversion_action, c.window_hours
    from feedback as f
    left join {{ ref('card_conversions') }} as c using (card_type)
    where f.action_type = 'card_impression'
),

-- Impressions and the responses to them in one timeline per member and card: each response takes
-- the impression last seen before it (an impression at the same instant comes first).
response_timeline as (
    select profile_id, card_id, event_id, occurred_at, action_type,
        {{ last_non_null("case when action_type = 'card_impression' then event_id end") }} over w as impression_id,
        {{ last_non_null("case when action_type = 'card_impression' then occurred_at end") }} over w as impression_at
    from feedback
    window w as (partition by profile_id, card_id order by occurred_at, action_type <> 'card_impression', event_id
                 rows between unbounded preceding and current row)
),

responses as (
    select impression_id,
        bool_or(action_type = 'card_clicked') as clicked,
        bool_or(action_type = 'card_dismissed') as dismissed
    from response_timeline
    where action_type <> 'card_impression' and impression_id is not null
        and occurred_at < impression_at + {{ hours_interval(var('card_feedback_window_hours')) }}
    group by impression_id
),

conversion_events as (
    select e.event_id, e.profile_id, e.action_type as conversion_action, e.occurred_at
    from {{ ref('int_identity__profile_events') }} as e
    where e.action_type in (select conversion_action from {{ ref('card_conversions') }})
        and e.profile_id in (select profile_id from impressions)
),

-- The same for conversions, per member and action: each conversion takes the last impression
-- before it of a card that asks for that action.
conversion_timeline as (
    select conversion_action, occurred_at, is_conversion,
        {{ last_non_null("case when not is_conversion then event_id end") }} over w as impression_id,
        {{ last_non_null("case when not is_conversion then occurred_at end") }} over w as impression_at,
        {{ last_non_null("case when not is_conversion then window_hours end") }} over w as window_hours
    from (
        select event_id, profile_id, conversion_action, occurred_at, window_hours, false as is_conversion
        from impressions where conversion_action is not null
        union all
        select event_id, profile_id, conversion_action, occurred_at, null, true from conversion_events
    )
    window w as (partition by profile_id, conversion_action order by occurred_at, is_conversion, event_id
                 rows between unbounded preceding and current row)
),

conversions as (
    select distinct impression_id
    from conversion_timeline
    where is_conversion and impression_id is not null
        and occurred_at > impression_at and occurred_at <= impression_at + {{ hours_interval('window_hours') }}
)

select
    i.event_id as impression_id,
    i.brand_id,
    i.profile_id,
    i.card_id,
    i.card_type,
    i.occurred_at,
    cast({{ local_timestamp('i.occurred_at', "'UTC'") }} as date) as occurred_on,
    i.experiments,
    coalesce(r.clicked, false) as clicked,
    coalesce(r.dismissed, false) as dismissed,
    c.impression_id is not null as converted
from impressions as i
left join responses as r on r.impression_id = i.event_id
left join conversions as c on c.impression_id = i.event_id
