select
    id as user_custom_field_value_id,
    user_id,
    custom_field_id,
    field_value,
    updated_at
from {{ source('raw', 'app_user_custom_field_values') }}
where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
