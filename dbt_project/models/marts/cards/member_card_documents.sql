-- The card snapshot contract (SPEC §3.5): one JSON document per member, valid against
-- docs/schemas/cards/member_cards.schema.json. Publishing serves these documents to the PWA.
with members as (
    select * from {{ ref('int_cards__member_context') }}
),

wishlist as (
    select m.profile_id,
        list(json_object('reward_id', r.reward_id, 'reward_name', r.reward_name, 'points_cost', r.points_cost,
                         'points_away', greatest(r.points_cost - m.points_balance, 0))
             order by r.points_cost, r.reward_id) as goals
    from members as m
    inner join {{ ref('stg_app__wishlists') }} as w on w.user_id = m.user_id
    inner join {{ ref('stg_app__rewards') }} as r on r.brand_id = m.brand_id and r.product_id = w.product_id and r.is_active
    group by all
),

achievements as (
    select profile_id,
        list(json_object('key', achievement_key, 'name', achievement_name, 'current', current_value, 'target', target,
                         'percent', percent, 'completed', completed, 'window', window_label)
             order by achievement_key) as progress
    from {{ ref('achievement_progress') }}
    where is_offered
    group by all
),

cards as (
    select profile_id,
        list(json_object(
            'id', card_id, 'type', card_type, 'position', position, 'score', score, 'title', title, 'body', body,
            'cta', cta,
            'progress', case when progress_target is not null then
                json_object('current', progress_current, 'target', progress_target, 'unit', progress_unit) end,
            'explanation', json_object('reason_codes', reason_codes, 'details', details),
            'valid_from', strftime(valid_from, '%Y-%m-%dT%H:%M:%SZ'),
            'valid_until', strftime(valid_until, '%Y-%m-%dT%H:%M:%SZ'))
            order by position) as cards
    from {{ ref('member_cards') }}
    group by all
)

select
    m.brand_id,
    m.user_id,
    m.profile_id,
    json_object(
        'schema_version', '1.0',
        'brand_id', m.brand_id,
        'user_id', m.user_id,
        'profile_id', m.profile_id,
        'generated_at', strftime({{ as_of() }}, '%Y-%m-%dT%H:%M:%SZ'),
        'points_balance', m.points_balance,
        'rank', json_object('key', m.rank_key, 'name', m.rank_name, 'multiplier', m.rank_multiplier,
                            'next_rank_key', m.next_rank_key, 'next_rank_points', m.next_rank_points,
                            'points_to_next_rank', greatest(m.next_rank_points - m.lifetime_points, 0)),
        'wishlist_goals', coalesce(w.goals, []),
        'achievements', coalesce(a.progress, []),
        'cards', c.cards
    ) as document
from members as m
left join wishlist as w using (profile_id)
left join achievements as a using (profile_id)
left join cards as c using (profile_id)
