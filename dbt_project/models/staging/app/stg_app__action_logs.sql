{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
-- One row per action, typed, with identifiers unpacked into columns (one parse of the object).
-- Incremental: raw rows are only ever appended, a landing file's rows all at once, so a run appends
-- the rows of the files this table has not seen; a full refresh gives the same rows.
with raw as (
    select *, {{ json_texts('identifiers', ['$.email', '$.phone', '$.loyalty_id', '$.device_id', '$.cookie_id',
                                            '$.whatsapp', '$.qr_id', '$.card_last4']) }} as ids
    from {{ source('raw', 'app_action_logs') }}
    where _erased_at is null  -- redacted for an erasure (erasure/redact.py, which also deletes them here)
    {% if is_incremental() %}
        and _file_id not in (select distinct source_file_id from {{ this }})
    {% endif %}
)

select
    event_id,
    brand_id,
    action_type,
    occurred_at,
    cast(occurred_at as date) as occurred_on,
    user_id,
    lower(channel) as channel,
    product_id,
    reward_id,
    points_awarded,
    amount,
    {{ list_at('ids', 1) }} as email_raw,
    {{ list_at('ids', 2) }} as phone_raw,
    {{ list_at('ids', 3) }} as loyalty_id_raw,
    {{ list_at('ids', 4) }} as device_id_raw,
    {{ list_at('ids', 5) }} as cookie_id_raw,
    {{ list_at('ids', 6) }} as whatsapp_raw,
    {{ list_at('ids', 7) }} as qr_id_raw,
    {{ list_at('ids', 8) }} as card_last4_raw,
    context,
    ip_address,
    user_agent,
    _file_id as source_file_id,
    _loaded_at as loaded_at
from raw
