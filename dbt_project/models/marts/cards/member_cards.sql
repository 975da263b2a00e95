-- The cards each member is shown (int_cards__selected picks and ranks them), with their text, their deep
-- link and image from the brand's card_actions templates, the text of their reason codes and their validity.
with reason_texts as (
    select {{ sorted_map('reason_code', 'text') }} as text_of from {{ ref('card_reasons') }}
)

select
    r.brand_id,
    r.user_id,
    profile_id,
    'card_' || left(md5(profile_id || ':' || card_type || ':' || card_key), 16) as card_id,
    card_type,
    r.position,
    r.score,
    c.title,
    c.body,
    c.cta,
    c.action_kind,
    c.action_target,
    {{ deep_link('a.url_template', 'r.brand_id', 'c.action_target') }} as action_url,
    {{ deep_link("nullif(a.image_url_template, '')", 'r.brand_id', 'c.action_target') }} as image_url,
    -- Dismissing a card hides its type for suppress_days: with none, there is nothing to dismiss.
    r.suppress_days > 0 as dismissible,
    c.progress_current,
    c.progress_target,
    c.progress_unit,
    c.reason_codes,
    {{ transformed('c.reason_codes', 'code', 't.text_of[code]') }} as reason_texts,
    c.details,
    r.valid_from,
    r.valid_until
from {{ ref('int_cards__selected') }} as r
inner join {{ ref('int_cards__candidates') }} as c using (profile_id, card_type, card_key)
cross join reason_texts as t
left join {{ ref('int_cards__actions') }} as a on a.brand_id = r.brand_id and a.action_kind = c.action_kind
