-- Every shown card leads somewhere and explains itself: its deep link (and image, when it has one)
-- has every template placeholder filled, and every reason code has its text in card_reasons.
select card_id, action_kind, action_url, image_url, reason_codes, reason_texts
from {{ ref('member_cards') }}
where action_url is null
    or contains(action_url, '{')
    or contains(image_url, '{')
    or len(reason_texts) <> len(reason_codes)
    or len(list_filter(reason_texts, lambda text: text is null)) > 0
