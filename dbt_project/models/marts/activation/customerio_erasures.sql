-- Members who asked to be erased: the sync sends Customer.io a `suppress` (or `delete`) for each and
-- removes them from its own outbound state (SPEC §3.3).
select
    brand_id,
    user_id,
    {{ customerio_person_id('user_id') }} as person_id,
    requested_at
from {{ ref('stg_app__erasure_requests') }}
