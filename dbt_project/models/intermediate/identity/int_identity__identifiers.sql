-- One row per distinct normalized identifier per brand: when and where it was seen, and
-- whether it is junk that must never link (identity_blocklist).
with identifiers as (
    select
        brand_id,
        id_type,
        value,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        count(*) as observations,
        -- A record carries one value of a type: each observation is a record of its own.
        count(*) as records,
        -- Flags, not a distinct list: cheap at tens of millions of observations.
        {{ names_flagged(['action_log', 'app_user', 'customerio_export', 'customerio_webhook'],
            ["bool_or(source = 'action_log')", "bool_or(source = 'app_user')",
             "bool_or(source = 'customerio_export')", "bool_or(source = 'customerio_webhook')"]) }}
            as sources
    from {{ ref('int_identity__observations') }}
    where value is not null
    group by all
),

-- Exact values match by a hash join; patterns are few, and each is tested only against the identifiers of
-- its type (every identifier for a pattern of any type). Both ignore case: `Unknown`, `NULL` and `N/A`
-- are as much placeholders as `unknown`, `null` and `n/a`.
blocked_values as (
    select i.brand_id, i.id_type, i.value, b.reason
    from identifiers as i
    inner join {{ ref('identity_blocklist') }} as b
        on lower(i.value) = lower(b.value) and (b.id_type is null or b.id_type = i.id_type)
    where b.value is not null
),

blocked_patterns as (
    select i.brand_id, i.id_type, i.value, b.reason
    from {{ ref('identity_blocklist') }} as b
    inner join identifiers as i on b.id_type is null or b.id_type = i.id_type
    where b.pattern is not null
        and {{ full_match_column('i.value', 'b.pattern', built_seed_values('identity_blocklist', 'pattern'), 'i') }}
),

blocked as (
    select brand_id, id_type, value, min(reason) as blocked_reason
    from (select * from blocked_values union all select * from blocked_patterns)
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
