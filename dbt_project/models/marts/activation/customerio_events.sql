{{ config(materialized='view') }}
-- The behavioural event stream synced to Customer.io (SPEC §3.3; integration spec §2.1), with the
-- product_snapshot / user_snapshot objects of the catalog. A view: the sync reads only the events that
-- became available since its cursor. `event_key` is unique per brand and is what the deterministic
-- Customer.io event id (a ULID) is derived from, so a resend is deduplicated by Customer.io.
with members as (
    select * from {{ ref('int_cards__member_context') }}
),

profile_data as (
    select v.user_id, {{ json_object_of_group('f.field_key', 'v.field_value') }} as profile_data
    from {{ ref('stg_app__user_custom_field_values') }} as v
    inner join {{ ref('stg_app__custom_fields') }} as f on f.custom_field_id = v.custom_field_id and f.is_active
    group by v.user_id
),

user_snapshots as (
    select m.brand_id, m.user_id,
        {% call json_object_of() %}
            'identity', {% call json_object_of() %}'user_id', m.user_id, 'email', u.email{% endcall %},
            'economy', {% call json_object_of() %}'points_balance', m.points_balance, 'lifetime_points', m.lifetime_points{% endcall %},
            'status', {% call json_object_of() %}'rank_key', m.rank_key, 'rank_name', m.rank_name{% endcall %},
            'profile_data', {% call json_embedded() %}coalesce(p.profile_data, {{ json_object_of() }}){% endcall %}
        {% endcall %} as user_snapshot
    from members as m
    left join {{ ref('stg_app__users') }} as u on u.brand_id = m.brand_id and u.user_id = m.user_id
    left join profile_data as p on p.user_id = m.user_id
),

app_events as (
    select a.*, s.user_snapshot
    from {{ ref('stg_app__action_logs') }} as a
    inner join user_snapshots as s on s.brand_id = a.brand_id and s.user_id = a.user_id
    where a.action_type in ('product_scanned', 'referral_initiated', 'referral_converted', 'wishlist_added',
                            'wishlist_removed', 'achievement_unlocked', 'reward_redeemed',
                            'user_session_started', 'user_session_ended')
),

app_event_data as (
    select e.brand_id, e.user_id, 'app:' || e.event_id as event_key, e.action_type as event_name,
        e.occurred_at, e.loaded_at as available_at,
        case
            when e.action_type = 'product_scanned' then {% call json_object_of() %}
                'product_snapshot', {% call json_object_of() %}
                    'identity', {% call json_object_of() %}'product_id', p.product_id, 'sku', p.sku, 'product_name', p.product_name{% endcall %},
                    {#- msrp is a decimal: cast to a double, which both engines' JSON spell 69.0. -#}
                    'economy', {% call json_object_of() %}'points_award', coalesce(e.points_awarded, p.points_award),
                                'msrp', {{ json_double('cast(p.msrp as double)') }}{% endcall %},
                    'taxonomy', {% call json_object_of() %}'product_form', p.product_form, 'strain_type', p.strain_type,
                                            'strain_name', p.strain_name, 'product_line', p.product_line{% endcall %}{% endcall %},
                'user_snapshot', {{ json_embedded('e.user_snapshot') }}{% endcall %}
            when e.action_type in ('wishlist_added', 'wishlist_removed') then {% call json_object_of() %}
                'product_snapshot', {% call json_object_of() %}
                    'identity', {% call json_object_of() %}'product_id', p.product_id, 'sku', p.sku, 'product_name', p.product_name{% endcall %}{% endcall %},
                'user_snapshot', {{ json_embedded('e.user_snapshot') }}{% endcall %}
            when e.action_type in ('referral_initiated', 'referral_converted') then {% call json_object_of() %}
                'referral_data', {% call json_object_of() %}
                    'referring_user_id', e.user_id,
                    'referral_code', {{ json_text('e.context', '$.referral_code') }},
                    'referral_email', {{ json_text('e.context', '$.referral_email') }}{% endcall %},
                'user_snapshot', {{ json_embedded('e.user_snapshot') }}{% endcall %}
            when e.action_type = 'achievement_unlocked' then {% call json_object_of() %}
                'achievement_key', {{ json_text('e.context', '$.achievement_key') }},
                'points_reward', e.points_awarded,
                'achievement_rarity', {{ json_text('e.context', '$.achievement_rarity') }},
                'user_snapshot', {{ json_embedded('e.user_snapshot') }}{% endcall %}
            when e.action_type = 'reward_redeemed' then {% call json_object_of() %}
                'reward_snapshot', {% call json_object_of() %}
                    'identity', {% call json_object_of() %}'reward_id', r.reward_id, 'reward_name', r.reward_name{% endcall %},
                    'economy', {% call json_object_of() %}'points_cost', r.points_cost{% endcall %}{% endcall %},
                'points_spent', coalesce(abs(e.points_awarded), r.points_cost),
                'user_snapshot', {{ json_embedded('e.user_snapshot') }}{% endcall %}
            else {% call json_object_of() %}
                'session_details', {% call json_object_of() %}
                    'device_type', {{ json_text('e.context', '$.device_type') }},
                    'browser', {{ json_text('e.context', '$.browser') }},
                    'location', {{ json_embedded(json_value('e.context', '$.location')) }},
                    'duration_seconds', try_cast({{ json_text('e.context', '$.duration_seconds') }} as integer){% endcall %},
                'user_snapshot', {{ json_embedded('e.user_snapshot') }}{% endcall %}
        end as data
    from app_events as e
    left join {{ ref('stg_app__products') }} as p on p.brand_id = e.brand_id and p.product_id = e.product_id
    left join {{ ref('stg_app__rewards') }} as r on r.brand_id = e.brand_id and r.reward_id = e.reward_id
),

-- Completions the platform's achievement engine detected (the app never wrote them as events).
completion_data as (
    select c.brand_id, c.user_id,
        'achievement:' || c.profile_id || ':' || c.achievement_key || ':' || c.window_key as event_key,
        'achievement_completed' as event_name,
        c.completed_at as occurred_at, c.detected_at as available_at,
        {% call json_object_of() %}'achievement_key', c.achievement_key, 'window', c.window_key,
                    'points_reward', c.reward_points, 'user_snapshot', {{ json_embedded('s.user_snapshot') }}{% endcall %} as data
    from {{ ref('achievement_completions') }} as c
    inner join user_snapshots as s on s.brand_id = c.brand_id and s.user_id = c.user_id
)

select brand_id, user_id, {{ customerio_person_id('user_id') }} as person_id, event_key, event_name,
    occurred_at, available_at, data
from app_event_data
union all
select brand_id, user_id, {{ customerio_person_id('user_id') }} as person_id, event_key, event_name,
    occurred_at, available_at, data
from completion_data
