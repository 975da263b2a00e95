{{ config(materialized='view') }}
-- The input of stitching: each record with the identifiers on it that may link profiles (valid, not blocked,
-- of a linking type). The events' links are kept incrementally and the extracts' rebuilt, so a run joins only
-- its new files' events with the identifiers instead of every event.
{{ union_all_by_name(ref('int_identity__event_links'), ref('int_identity__record_links'),
                     excluded=['source_file_id', 'rules_digest', 'linked_by']) }}
