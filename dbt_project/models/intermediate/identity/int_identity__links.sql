-- The input of stitching: each record with the identifiers on it that may link profiles
-- (valid, not blocked, of a linking type).
select o.source, o.brand_id, o.record_id, o.observed_at,
    o.id_type, o.value, i.priority, i.max_per_profile
from {{ ref('int_identity__observations') }} as o
inner join {{ ref('int_identity__identifiers') }} as i using (brand_id, id_type, value)
where i.links_profiles
