-- Card feedback from the app, one row per event: impressions, clicks and dismissals with the card id
-- and type, and the experiment arms the card document carried (the PWA logs them in the event's
-- context, docs/card-api.md). Feedback without a card id or a profile cannot be attributed.
select
    e.event_id,
    e.brand_id,
    e.profile_id,
    e.action_type,
    e.occurred_at,
    {{ json_text('e.context', '$.card_id') }} as card_id,
    {{ json_text('e.context', '$.card_type') }} as card_type,
    coalesce({{ json_text_records(json_value('e.context', '$.experiments'), ['key', 'arm']) }}, {{ empty_list() }}) as experiments
from {{ ref('int_identity__profile_events') }} as e
where e.action_type in ('card_impression', 'card_clicked', 'card_dismissed')
    and e.profile_id is not null
    and {{ json_text('e.context', '$.card_id') }} is not null
