-- One row per distinct normalized identifier per brand: when and where it was seen, and
-- whether it is junk that must never link (identity_blocklist).
with valid as (
    select * from {{ ref('int_identity__observations') }}
    where value is not null
),

identifiers as (
    select
        brand_id,
        id_type,
        value,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as observations,
        count(distinct record_id) as records,
        list(distinct source order by source) as sources
    from valid
    group by all
),

blocked as (
    select i.brand_id, i.id_type, i.value, min(b.reason) as blocked_reason
    from identifiers as i
    inner join {{ ref('identity_blocklist') }} as b
        on (b.id_type is null or b.id_type = i.id_type)
        and (i.value = lower(b.value) or (b.pattern is not null and regexp_full_match(i.value, b.pattern)))
    group by all
),

rules as (
    select brands.brand_id, r.id_type,
        coalesce(own.priority, r.priority) as priority,
        coalesce(own.max_per_profile, r.max_per_profile) as max_per_profile,
        coalesce(own.links_profiles, r.links_profiles) as links_profiles
    from {{ ref('identity_rules') }} as r
    cross join (select distinct brand_id from identifiers) as brands
    left join {{ ref('identity_rules') }} as own on own.brand_id = brands.brand_id and own.id_type = r.id_type
    where r.brand_id is null
)

select
    i.*,
    b.blocked_reason,
    r.priority,
    r.max_per_profile,
    r.links_profiles and b.blocked_reason is null as links_profiles
from identifiers as i
left join blocked as b using (brand_id, id_type, value)
left join rules as r using (brand_id, id_type)
