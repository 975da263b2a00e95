{{ config(materialized='view') }}
-- One row per (source record, identifier): every identifier seen anywhere, raw and normalized.
-- A record is what links identifiers to each other (they were seen together on it).
{{ union_all_by_name(ref('int_identity__event_observations'), ref('int_identity__record_observations'),
                     excluded=['source_file_id']) }}
