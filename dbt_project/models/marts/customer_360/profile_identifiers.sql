-- Every identifier of every profile, with how it was seen and how much it is trusted.
with identifiers as (
    select p.profile_id, p.brand_id, p.id_type, p.value, p.links_profiles,
        i.first_seen_at, i.last_seen_at, i.observations, i.records, i.sources
    from {{ source('identity', 'identifier_profiles') }} as p
    inner join {{ ref('int_identity__identifiers') }} as i using (brand_id, id_type, value)
    where p.profile_id not in (select profile_id from {{ ref('int_identity__erased_profiles') }})
),

scored as (
    select *,
        -- How much the type identifies a person, times corroboration (full from four records on).
        cast(round({{ identifier_type_weight('id_type') }} * least(1.0, 0.6 + 0.1 * records), 3) as double) as confidence
    from identifiers
)

select
    profile_id,
    brand_id,
    id_type,
    value,
    links_profiles,
    first_seen_at,
    last_seen_at,
    observations,
    records,
    sources,
    confidence,
    case when confidence >= 0.8 then 'high' when confidence >= 0.5 then 'medium' else 'low' end as confidence_label
from scored
