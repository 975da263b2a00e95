-- People exports: one row per person per export.
select
    person_key,
    cio_id,
    id as customer_id,
    email as email_raw,
    segments,
    attributes,
    _extracted_at as exported_at,
    _loaded_at as loaded_at
from {{ source('raw', 'customerio_exports') }}
where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
