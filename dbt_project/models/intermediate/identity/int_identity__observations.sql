{{ config(materialized='view') }}
-- One row per (source record, identifier): every identifier seen anywhere, raw and normalized.
-- A record is what links identifiers to each other (they were seen together on it).
select * exclude (source_file_id) from {{ ref('int_identity__event_observations') }}
union all by name
select * from {{ ref('int_identity__record_observations') }}
