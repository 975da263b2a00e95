-- Every shown card leads somewhere and explains itself: its deep link (and image, when it has one)
-- has every template placeholder filled, and every reason code has its text in card_reasons.
select card_id, action_kind, action_url, image_url, reason_codes, reason_texts
from {{ ref('member_cards') }}
where action_url is null
    or contains(action_url, '{')
    or contains(image_url, '{')
    or {{ list_length('reason_texts') }} <> {{ list_length('reason_codes') }}
    or {{ count_matching('reason_texts', 'text', 'text is null') }} > 0
