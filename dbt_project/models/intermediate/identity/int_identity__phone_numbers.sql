{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
-- Every phone number on the app's user extracts, parsed once. Parsing (libphonenumber, in Python) is nearly
-- all the cost of observing the extracts, and each day's extract repeats the numbers of the day before:
-- a run parses only the numbers (in their brand's region) it has not parsed yet. A full refresh parses
-- everything again (after upgrading the phone library, say); erasure deletes an erased member's numbers.
with seen as (
    select distinct u.phone_number as raw_value, coalesce(b.timezone, 'UTC') as brand_timezone
    from {{ ref('stg_app__users') }} as u
    left join {{ ref('stg_app__brands') }} as b using (brand_id)
    where u.phone_number is not null
)

select s.raw_value, s.brand_timezone, phone_e164(s.raw_value, s.brand_timezone) as e164
from seen as s
{% if is_incremental() %}
where not exists (select 1 from {{ this }} as p where p.raw_value = s.raw_value and p.brand_timezone = s.brand_timezone)
{% endif %}
