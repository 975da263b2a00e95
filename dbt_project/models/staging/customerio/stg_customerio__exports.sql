-- People exports: one row per person per export.
select
    person_key,
    cio_id,
    id as customer_id,
    email as email_raw,
    segments,
    attributes,
    _extracted_at as exported_at
from {{ source('raw', 'customerio_exports') }}
