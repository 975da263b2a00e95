-- Every member's arm in every experiment of their brand. The bucket is a hash of the experiment key
-- and the member's profile id, so it is stable across builds, needs no stored state, and is
-- independent between experiments (another key, another hash). Anyone can recompute it:
-- int(md5("<experiment_key>:<profile_id>").hexdigest()[:8], 16) % 10000.
with members as (
    select brand_id, user_id, profile_id from {{ ref('int_cards__member_context') }}
),

buckets as (
    select m.brand_id, m.user_id, m.profile_id, e.experiment_key,
        {{ experiment_bucket('e.experiment_key', 'm.profile_id') }} as bucket
    from members as m
    inner join (select distinct brand_id, experiment_key from {{ ref('int_cards__experiment_arms') }}) as e using (brand_id)
)

select
    b.brand_id,
    b.user_id,
    b.profile_id,
    b.experiment_key,
    b.bucket,
    a.arm,
    a.is_control,
    a.card_policy,
    a.withheld_card_type,
    a.starts_on,
    a.ends_on,
    cast({{ local_timestamp(as_of(), "'UTC'") }} as date) >= a.starts_on
        and cast({{ local_timestamp(as_of(), "'UTC'") }} as date) < a.ends_on as is_active
from buckets as b
inner join {{ ref('int_cards__experiment_arms') }} as a
    on a.brand_id = b.brand_id and a.experiment_key = b.experiment_key
    and b.bucket >= a.bucket_from and b.bucket < a.bucket_to
