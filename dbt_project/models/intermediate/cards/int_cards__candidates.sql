-- Every card a member could be shown, one CTE per card type (SPEC §4 "Cards"). Each candidate
-- has a propensity (0-1), a value, the text, its call to action (label, action kind and the
-- target's ids: member_cards builds the deep link), progress where it applies, its reason codes
-- and the typed numbers behind it (macros/card_numbers.sql).
with members as (
    select * from {{ ref('int_cards__member_context') }}
),

rewards as (
    select * from {{ ref('stg_app__rewards') }} where is_active
),

-- Achievements close to completion (offered, not completed), with the points they award.
near_complete as (
    select p.profile_id, p.achievement_key, p.achievement_name, p.current_value, p.target, p.percent,
        {{ achievement_unit('a.metric', 'a.streak_unit') }} as unit, coalesce(a.reward_points, 0) as reward_points
    from {{ ref('achievement_progress') }} as p
    inner join {{ ref('int_achievements__configs') }} as a using (achievement_config_id)
    where p.is_offered and not p.completed and p.percent > 0
),

wishlist_goal as (
    select m.profile_id, 'wishlist_goal' as card_type, cast(r.reward_id as {{ text_type() }}) as card_key,
        r.points_cost - m.points_balance as gap, m.rank_multiplier, m.scan_points, m.referral_points,
        r.reward_id, r.product_id, r.reward_name, r.points_cost, m.points_balance
    from members as m
    inner join {{ ref('stg_app__wishlists') }} as w on w.user_id = m.user_id
    inner join rewards as r on r.brand_id = m.brand_id and r.product_id = w.product_id
),

-- The near-complete achievements that would close each goal's gap at the member's multiplier: a join on
-- the member with the gap as a join condition, grouped by what the condition reads (profile, multiplier,
-- gap), so each goal finds exactly its own. As correlated subqueries with that non-equality predicate,
-- Spark paired every distinct (gap, multiplier) with every near-complete achievement of every member (a
-- cartesian product, 240M pairs at 100,000 members) before matching the profile.
closing as (
    select g.profile_id, g.rank_multiplier, g.gap,
        {{ arg_min('n.achievement_name', ['-n.reward_points', 'n.achievement_key']) }} as closing_name,
        {{ sorted_list('n.achievement_key', '(-n.reward_points, n.achievement_key)') }} as closing_keys
    from (select distinct profile_id, rank_multiplier, gap from wishlist_goal) as g
    inner join near_complete as n on n.profile_id = g.profile_id and n.reward_points * g.rank_multiplier >= g.gap
    group by g.profile_id, g.rank_multiplier, g.gap
),

wishlist_cards as (
    select g.profile_id, g.card_type, g.card_key,
        greatest(0.05, least(1.0, g.points_balance / g.points_cost)) as propensity,
        cast(g.points_cost as double) as value,
        case when g.gap <= 0 then 'Your ' || g.reward_name || ' is ready'
             else {{ count_noun('g.gap', 'point', 'points') }} || ' to your ' || g.reward_name end as title,
        case when g.gap <= 0 then 'You have enough points to redeem it now.'
             else 'That is ' || {{ count_noun(actions_needed('g.gap', 'g.scan_points', 'g.rank_multiplier'), 'product scan', 'product scans') }}
                  || ' or ' || {{ count_noun(actions_needed('g.gap', 'g.referral_points', 'g.rank_multiplier'), 'referral', 'referrals') }}
                  || coalesce(' — or finish ' || c.closing_name, '')
                  || '.' end as body,
        case when g.gap <= 0 then 'Redeem' else 'See how to earn' end as cta,
        case when g.gap <= 0 then 'redeem_reward' else 'earn_points' end as action_kind,
        {{ json_object_of("'reward_id'", 'g.reward_id', "'product_id'", 'g.product_id') }} as action_target,
        g.points_balance as progress_current, g.points_cost as progress_target, 'points' as progress_unit,
        case when g.gap <= 0 then {{ list_of("'wishlist_affordable'") }} else {{ list_of("'wishlist_goal'", "'points_gap'") }} end as reason_codes,
        {% call json_object_of() %}'points_cost', g.points_cost, 'gap_points', greatest(g.gap, 0),
            'scans_needed', case when g.gap > 0 then {{ actions_needed('g.gap', 'g.scan_points', 'g.rank_multiplier') }} else 0 end,
            'referrals_needed', case when g.gap > 0 then {{ actions_needed('g.gap', 'g.referral_points', 'g.rank_multiplier') }} else 0 end,
            'rank_multiplier', {{ card_multiplier('g.rank_multiplier') }},
            'closing_achievements', coalesce(c.closing_keys, {{ empty_list() }})
        {% endcall %} as details
    from wishlist_goal as g
    left join closing as c on c.profile_id = g.profile_id and c.rank_multiplier = g.rank_multiplier and c.gap = g.gap
),

rank_up as (
    select profile_id, 'rank_up' as card_type, next_rank_key as card_key,
        least(1.0, lifetime_points / next_rank_points) as propensity,
        cast(next_rank_points as double) as value,
        {{ count_noun('next_rank_points - lifetime_points', 'point', 'points') }} || ' to ' || next_rank_name as title,
        'Reach ' || next_rank_name || ' for a bigger points multiplier: about '
            || {{ count_noun(actions_needed('next_rank_points - lifetime_points', 'scan_points', 'rank_multiplier'), 'product scan', 'product scans') }}
            || '.' as body,
        'See rank benefits' as cta, 'view_rank' as action_kind, {{ json_object_of("'rank_key'", 'next_rank_key') }} as action_target,
        lifetime_points as progress_current, next_rank_points as progress_target,
        'points' as progress_unit, {{ list_of("'rank_distance'") }} as reason_codes,
        {% call json_object_of() %}'gap_points', next_rank_points - lifetime_points, 'next_rank', next_rank_key,
            'next_rank_points', next_rank_points,
            'scans_needed', {{ actions_needed('next_rank_points - lifetime_points', 'scan_points', 'rank_multiplier') }}{% endcall %} as details
    from members
    where next_rank_points is not null
),

achievement_cards as (
    select profile_id, 'near_complete_achievement' as card_type, achievement_key as card_key,
        {{ ratio('percent', '100') }} as propensity, cast(greatest(reward_points, 1) as double) as value,
        'Almost there: ' || achievement_name as title,
        case when unit = 'amount' then cast({{ card_amount('target - current_value') }} as {{ text_type() }})
             else cast({{ card_points('target - current_value') }} as {{ text_type() }}) end
            || ' more to unlock ' || achievement_name || '.' as body,
        'Keep going' as cta, 'view_achievement' as action_kind, {{ json_object_of("'achievement_key'", 'achievement_key') }} as action_target,
        current_value as progress_current, target as progress_target,
        unit as progress_unit, {{ list_of("'achievement_near_complete'") }} as reason_codes,
        {% call json_object_of() %}'percent', {{ card_percent('percent') }}, 'reward_points', reward_points{% endcall %} as details
    from near_complete
    qualify row_number() over (partition by profile_id order by percent desc, reward_points desc, achievement_key) = 1
),

referral_cards as (
    select profile_id, 'referral_prompt' as card_type, 'referral' as card_key,
        least(1.0, 0.3 + coalesce(feature_affinities['referrals'], 0)) as propensity,
        cast(referral_points * rank_multiplier as double) as value,
        'Invite a friend, earn ' || {{ count_noun(card_points('referral_points * rank_multiplier'), 'point', 'points') }} as title,
        'Share your code: you earn points when a friend joins.' as body, 'Invite' as cta,
        'invite_friend' as action_kind, {{ json_object_of() }} as action_target,
        null as progress_current, null as progress_target, null as progress_unit,
        case when coalesce(feature_affinities['referrals'], 0) > 0 then {{ list_of("'referral_affinity'") }} else {{ list_of("'referral_default'") }} end
            as reason_codes,
        {% call json_object_of() %}'referral_points', referral_points, 'rank_multiplier', {{ card_multiplier('rank_multiplier') }},
            'points_per_referral', {{ card_points('referral_points * rank_multiplier') }}{% endcall %} as details
    from members
),

retention_cards as (
    select m.profile_id, 'retention_offer' as card_type, 'retention' as card_key,
        m.churn_probability as propensity, cast({{ card_amount('greatest(m.monetary, 1)') }} as double) as value,
        'We miss you: double points this week' as title,
        'Come back this week and every scan earns double points.' as body, 'Claim offer' as cta,
        'claim_offer' as action_kind, {{ json_object_of("'offer_key'", "'double_points_week'") }} as action_target,
        null as progress_current, null as progress_target, null as progress_unit,
        {{ list_of("'churn_risk_' || lower(m.churn_risk_level)") }} as reason_codes,
        {% call json_object_of() %}'churn_probability', {{ card_ratio('m.churn_probability') }}, 'risk_level', m.churn_risk_level{% endcall %} as details
    from members as m
    where m.churn_probability is not null  -- the brand's min_churn_probability applies at selection
),

exclusive_cards as (
    select profile_id, 'high_value_exclusive' as card_type, 'exclusive' as card_key, 0.6 as propensity,
        cast({{ card_amount('greatest(monetary, 1)') }} as double) as value,
        'An exclusive for our ' || segment as title, 'Early access to limited drops, for our best members.' as body,
        'Get early access' as cta, 'view_exclusives' as action_kind, {{ json_object_of() }} as action_target,
        null as progress_current, null as progress_target, null as progress_unit,
        {{ list_of("'segment_' || lower(replace(segment, ' ', '_'))") }} as reason_codes,
        {{ json_object_of("'segment'", 'segment') }} as details
    from members
    where segment in ('Champions', 'Loyal')
),

-- The member's favourite product form: the largest share, ties to the alphabetically first form.
favourite as (
    select profile_id, brand_id, product_form, category_preferences[product_form] as share
    from (select profile_id, brand_id, category_preferences, {{ top_map_key('category_preferences') }} as product_form
          from members)
    where product_form is not null
),

discovery_cards as (
    select f.profile_id, 'product_discovery' as card_type, cast(p.product_id as {{ text_type() }}) as card_key,
        f.share as propensity, cast(p.msrp as double) as value,
        'New for you: ' || p.product_name as title,
        'You like ' || f.product_form || '; try ' || p.product_name || ' next.' as body, 'Discover' as cta,
        'view_product' as action_kind, {{ json_object_of("'product_id'", 'p.product_id') }} as action_target,
        null as progress_current, null as progress_target, null as progress_unit,
        {{ list_of("'category_affinity'") }} as reason_codes,
        {% call json_object_of() %}'product_form', f.product_form, 'share', {{ card_ratio('f.share') }},
            'msrp', {{ card_amount('p.msrp') }}{% endcall %} as details
    from favourite as f
    inner join {{ ref('stg_app__products') }} as p on p.brand_id = f.brand_id and p.product_form = f.product_form
    where not exists (select 1 from {{ ref('int_identity__profile_events') }} as e
                      where e.profile_id = f.profile_id and e.product_id = p.product_id)
    qualify row_number() over (partition by f.profile_id order by p.is_new desc, p.is_featured desc,
        md5(f.profile_id || ':' || cast(p.product_id as {{ text_type() }}))) = 1
),

-- FR3: price = base x customer multiplier (0.7 to keep a member at risk, 0.85 for low value,
-- 1.0 otherwise) x inventory multiplier (0.6 for a large surplus, 0.8 for a surplus, else 1.0).
priced as (
    select m.profile_id, r.reward_id, r.product_id, r.reward_name, r.points_cost, m.points_balance,
        case when m.churn_probability >= 0.6 then 0.7 when m.segment in ('Hibernating', 'Lost', 'About To Sleep') then 0.85
             else 1.0 end as customer_multiplier,
        case when r.inventory_count >= 500 then 0.6 when r.inventory_count >= 100 then 0.8 else 1.0 end as inventory_multiplier
    from members as m
    inner join rewards as r on r.brand_id = m.brand_id
),

-- The member's best-priced offer: the largest discount times how affordable it is. arg_max over
-- a (score, -reward_id) pair picks it per member without sorting every member x reward row.
best_offer as (
    select profile_id,
        {{ arg_max(row_record('priced'), ['(1 - customer_multiplier * inventory_multiplier) * least(1.0, points_balance / points_cost)',
                                           '-reward_id']) }} as offer
    from priced
    where customer_multiplier * inventory_multiplier < 1
    group by profile_id
),

offer_cards as (
    select profile_id, 'reward_offer' as card_type, cast(reward_id as {{ text_type() }}) as card_key,
        least(1.0, {{ ratio('points_balance', 'greatest(round(points_cost * customer_multiplier * inventory_multiplier), 1)') }}) as propensity,
        cast(points_cost as double) as value,
        reward_name || ' for ' || {{ count_noun(card_points('points_cost * customer_multiplier * inventory_multiplier'), 'point', 'points') }} as title,
        'Usually ' || {{ count_noun('points_cost', 'point', 'points') }} || ': '
            || cast(round(100 * (1 - customer_multiplier * inventory_multiplier)) as bigint) || '% off for you.' as body,
        'Redeem' as cta, 'redeem_reward' as action_kind, {{ json_object_of("'reward_id'", 'reward_id', "'product_id'", 'product_id') }} as action_target,
        points_balance as progress_current,
        {{ card_points('points_cost * customer_multiplier * inventory_multiplier') }} as progress_target, 'points' as progress_unit,
        {{ list_of("'dynamic_price'") }} || case when customer_multiplier < 1 then {{ list_of("'member_discount'") }} else {{ empty_list() }} end
            || case when inventory_multiplier < 1 then {{ list_of("'inventory_surplus'") }} else {{ empty_list() }} end as reason_codes,
        {% call json_object_of() %}'base_price', points_cost, 'customer_multiplier', {{ card_multiplier('customer_multiplier') }},
                    'inventory_multiplier', {{ card_multiplier('inventory_multiplier') }},
                    'dynamic_price', {{ card_points('points_cost * customer_multiplier * inventory_multiplier') }}{% endcall %} as details
    from (select {{ record_columns('offer') }} from best_offer)
),

fallback_cards as (
    select profile_id, 'explore_rewards' as card_type, 'explore' as card_key, 0.1 as propensity, 1.0 as value,
        'Explore your rewards' as title, 'See what your ' || {{ count_noun('points_balance', 'point', 'points') }} || ' can get you.' as body,
        'Browse rewards' as cta, 'browse_rewards' as action_kind, {{ json_object_of() }} as action_target,
        null as progress_current, null as progress_target, null as progress_unit,
        {{ list_of("'fallback'") }} as reason_codes, {{ json_object_of("'points_balance'", 'points_balance') }} as details
    from members
),

all_cards as (
    select * from wishlist_cards
    union all select * from rank_up
    union all select * from achievement_cards
    union all select * from referral_cards
    union all select * from retention_cards
    union all select * from exclusive_cards
    union all select * from discovery_cards
    union all select * from offer_cards
    union all select * from fallback_cards
)

-- Each card CTE above lists the same columns in the same order: all_cards unions them by position.
-- Progress numbers are points, counts or amounts: decimal(18, 2) holds each exactly. The member's brand comes
-- along so member_cards meets the brand's settings on (brand, type): joined on the type alone, DuckDB paired
-- every candidate with every brand's settings first (3x the rows, out of memory at 1M members).
select m.brand_id, c.profile_id, c.card_type, c.card_key, c.propensity, c.value, c.title, c.body, c.cta, c.action_kind,
    c.action_target, cast(c.progress_current as decimal(18, 2)) as progress_current,
    cast(c.progress_target as decimal(18, 2)) as progress_target, c.progress_unit, c.reason_codes, c.details
from all_cards as c
inner join members as m using (profile_id)
