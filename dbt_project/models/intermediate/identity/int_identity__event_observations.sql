{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}
-- The identifiers seen on action-log events, one row per (event, identifier). Incremental like the
-- action-log staging it reads: each run observes only the events of landing files not seen before. Members
-- type the phone numbers of their app profile into events too: those parsed from the users extract are not parsed
-- again.
with records as (
    select 'action_log' as source, brand_id, event_id as record_id, occurred_at as observed_at,
        user_id, email_raw, phone_raw, loyalty_id_raw, device_id_raw, cookie_id_raw, whatsapp_raw, qr_id_raw,
        card_last4_raw, source_file_id
    from {{ ref('stg_app__action_logs') }}
    {% if is_incremental() %}
    where source_file_id not in (select distinct source_file_id from {{ this }})
    {% endif %}
),

{{ observe_identifiers('records', keep=['source_file_id'], parsed_phones=ref('int_identity__phone_numbers')) }}
