-- Profiles of members who asked to be erased, as this build resolved them before their data was redacted
-- (erasure/redact.py): the Customer 360 marts leave them out entirely.
select distinct profile_id
from {{ source('identity', 'erasures') }}
where profile_id is not null
