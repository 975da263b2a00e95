-- The person attributes synced to Customer.io with `identify` (SPEC §3.3), one row per member.
-- The sync sends only the attributes whose value changed since the last delivered identify.
with members as (
    select * from {{ ref('int_cards__member_context') }}
),

features as (
    select * from {{ ref('member_features') }}
),

users as (
    select * from {{ ref('stg_app__users') }}
),

wishlist as (
    select m.profile_id,
        min(greatest(r.points_cost - m.points_balance, 0)) as wishlist_points_away,
        {{ arg_min('r.reward_name', ['greatest(r.points_cost - m.points_balance, 0)', 'r.reward_id']) }} as wishlist_next_reward
    from members as m
    inner join {{ ref('stg_app__wishlists') }} as w on w.user_id = m.user_id
    inner join {{ ref('stg_app__rewards') }} as r on r.brand_id = m.brand_id and r.product_id = w.product_id and r.is_active
    group by m.profile_id
),

achievements as (
    select profile_id,
        count(*) filter (where completed) as achievements_completed,
        count(*) filter (where not completed) as achievements_in_progress,
        count(*) filter (where not completed and percent >= 75) as achievements_near_complete
    from {{ ref('achievement_progress') }}
    where is_offered
    group by profile_id
),

-- The member's arm in each running experiment, so campaigns can use the same split as the cards.
experiments as (
    select profile_id, {{ sorted_map('experiment_key', 'arm') }} as experiments
    from {{ ref('experiment_assignments') }}
    where is_active
    group by profile_id
),

top_cards as (
    select profile_id, card_type as top_card_type
    from {{ ref('member_cards') }}
    where position = 1
)

select
    m.brand_id,
    m.user_id,
    {{ customerio_person_id('m.user_id') }} as person_id,
    {#- last_purchase_at is a timestamp, not days since: Customer.io segments on "more than N days ago" themselves,
        and a day count would change every member's attributes, and so resend them, every day. -#}
    {% call json_object_of() %}
        'profile_id', m.profile_id,
        'email', u.email,
        'first_name', u.first_name,
        'marketing_consent', u.marketing_consent,
        'created_at', {{ epoch_seconds('u.created_at') }},
        'points_balance', m.points_balance,
        'lifetime_points', m.lifetime_points,
        'rank_key', m.rank_key,
        'rank_name', m.rank_name,
        'next_rank_key', m.next_rank_key,
        'points_to_next_rank', greatest(m.next_rank_points - m.lifetime_points, 0),
        'last_purchase_at', {{ epoch_seconds('f.last_purchase_at') }},
        'rfm_frequency', f.frequency,
        'rfm_monetary', {{ json_double('f.monetary') }},
        'rfm_r_score', f.r_score,
        'rfm_f_score', f.f_score,
        'rfm_m_score', f.m_score,
        'rfm_segment', f.segment,
        'sessions', f.sessions,
        'avg_session_seconds', {{ json_double(round_double('f.avg_session_seconds', 1)) }},
        'sessions_per_week', {{ json_double(round_double('f.sessions_per_week', 3)) }},
        'action_diversity', {{ json_double(round_double('f.action_diversity', 4)) }},
        'product_exploration', {{ json_double(round_double('f.product_exploration', 4)) }},
        'preferred_channel', f.preferred_channel,
        'category_preferences', {{ json_doubles_by_key('f.category_preferences') }},
        'feature_affinities', {{ json_doubles_by_key('f.feature_affinities') }},
        'churn_probability', {{ json_double(round_double('f.churn_probability', 4)) }},
        'churn_risk_level', f.churn_risk_level,
        'churn_source', f.churn_source,
        'wishlist_points_away', w.wishlist_points_away,
        'wishlist_next_reward', w.wishlist_next_reward,
        'achievements_completed', coalesce(a.achievements_completed, 0),
        'achievements_in_progress', coalesce(a.achievements_in_progress, 0),
        'achievements_near_complete', coalesce(a.achievements_near_complete, 0),
        'top_card_type', c.top_card_type,
        'experiments', coalesce(x.experiments, map())
    {% endcall %} as attributes
from members as m
inner join features as f using (profile_id)
left join users as u on u.brand_id = m.brand_id and u.user_id = m.user_id
left join wishlist as w using (profile_id)
left join achievements as a using (profile_id)
left join top_cards as c using (profile_id)
left join experiments as x using (profile_id)
