-- The card snapshot contract (SPEC §3.5): one JSON document per member, valid against
-- docs/schemas/cards/member_cards.schema.json. Publishing serves these documents to the PWA.
-- Numbers are typed (macros/card_numbers.sql), so a rebuild of the same data gives the same bytes.
-- Only publishing reads it (analysts read the marts it is made of): macros/engine/materializations.sql.
--
-- inputs_digest is a digest of every value a document is built from, all but generated_at: publishing builds
-- again only the documents whose inputs changed (macros/card_document_members.sql). So a document reads its
-- sources through the *_rows CTEs alone, which select the columns the digest covers (the lists below).
{{ config(materialized=published_materialization()) }}
{%- set member_columns = ['brand_id', 'user_id', 'profile_id', 'points_balance', 'lifetime_points', 'rank_key', 'rank_name',
                          'rank_multiplier', 'next_rank_key', 'next_rank_points'] %}
{%- set wishlist_columns = ['reward_id', 'reward_name', 'points_cost'] %}
{%- set achievement_columns = ['achievement_key', 'achievement_name', 'current_value', 'target', 'unit', 'percent',
                               'completed', 'window_label'] %}
{%- set card_columns = ['card_id', 'card_type', 'position', 'score', 'title', 'body', 'image_url', 'action_kind', 'cta',
                        'action_url', 'action_target', 'dismissible', 'progress_current', 'progress_target',
                        'progress_unit', 'reason_codes', 'reason_texts', 'details', 'valid_from', 'valid_until'] %}
{%- set experiment_columns = ['experiment_key', 'arm'] %}
with members as (
    select {{ member_columns | join(', ') }}
    from {{ ref('int_cards__member_context') }}
    where {{ card_document_members('profile_id') }}
),

-- The member context is read here again rather than through `members`: DuckDB materializes a CTE read twice, and a
-- count or filter over the documents (the not_null test, a bare count(*)) would then build every document.
-- points_balance is in the member's own columns.
wishlist_rows as (
    select m.profile_id, m.points_balance, {{ wishlist_columns | join(', ') }}
    from {{ ref('int_cards__member_context') }} as m
    inner join {{ ref('stg_app__wishlists') }} as w on w.user_id = m.user_id
    inner join {{ ref('stg_app__rewards') }} as r on r.brand_id = m.brand_id and r.product_id = w.product_id and r.is_active
    where {{ card_document_members('m.profile_id') }}
),

wishlist as (
    select profile_id, {{ group_digest(wishlist_columns) }} as inputs,
        {{ sorted_list(json_object_of("'reward_id'", 'reward_id', "'reward_name'", 'reward_name', "'points_cost'", 'points_cost',
                                      "'points_away'", 'greatest(points_cost - points_balance, 0)'),
                       '(points_cost, reward_id)') }} as goals
    from wishlist_rows
    group by profile_id
),

achievement_rows as (
    select profile_id, {{ achievement_columns | join(', ') }}
    from {{ ref('achievement_progress') }}
    inner join (
        select achievement_config_id, {{ achievement_unit('metric', 'streak_unit') }} as unit
        from {{ ref('int_achievements__configs') }}
    ) as configs using (achievement_config_id)
    where is_offered and {{ card_document_members('profile_id') }}
),

achievement_items as (
    select *,
        {% call json_object_of() %}'key', achievement_key, 'name', achievement_name,
                    'current', {{ progress_json('current_value', 'unit') }},
                    'target', {{ progress_json('target', 'unit') }}, 'unit', unit,
                    'percent', {{ card_percent('percent') }}, 'completed', completed, 'window', window_label{% endcall %} as item
    from achievement_rows
),

achievements as (
    select profile_id, {{ group_digest(achievement_columns) }} as inputs, {{ sorted_list('item', 'achievement_key') }} as progress
    from achievement_items
    group by profile_id
),

card_rows as (
    select profile_id, {{ card_columns | join(', ') }}
    from {{ ref('member_cards') }}
    where {{ card_document_members('profile_id') }}
),

-- A card's progress: current is the truth (a balance may pass the target); a progress bar shows
-- display_current of target, i.e. percent, which stops at 100.
card_items as (
    select *,
        {% call json_object_of() %}
            'id', card_id, 'type', card_type, 'position', position, 'score', score, 'title', title, 'body', body,
            'image_url', image_url,
            'action', {{ json_embedded(json_object_of("'kind'", 'action_kind', "'label'", 'cta', "'url'", 'action_url',
                                                 "'target'", json_embedded('action_target'))) }},
            'dismissible', dismissible,
            'progress', {% call json_embedded() %}case when progress_target is not null then
                {% call json_object_of() %}'current', {{ progress_json('progress_current', 'progress_unit') }},
                            'target', {{ progress_json('progress_target', 'progress_unit') }},
                            'unit', progress_unit,
                            'display_current', {{ progress_json('least(progress_current, progress_target)', 'progress_unit') }},
                            'percent', case when progress_target > 0
                                then cast(floor({{ ratio('100 * greatest(least(progress_current, progress_target), 0)', 'progress_target') }}) as integer)
                                else 100 end{% endcall %} end{% endcall %},
            'explanation', {% call json_embedded() %}{% call json_object_of() %}
                'reasons', {{ json_embedded_list(zipped('reason_codes', 'reason_texts', 'code', 'text',
                                                      json_object_of("'code'", 'code', "'text'", 'text'))) }},
                'details', {{ json_embedded('details') }}{% endcall %}{% endcall %},
            'valid_from', {{ format_instant('valid_from', '%Y-%m-%dT%H:%M:%SZ') }},
            'valid_until', {{ format_instant('valid_until', '%Y-%m-%dT%H:%M:%SZ') }}{% endcall %} as item
    from card_rows
),

cards as (
    select profile_id, {{ group_digest(card_columns) }} as inputs, {{ sorted_list('item', 'position') }} as cards
    from card_items
    group by profile_id
),

experiment_rows as (
    select profile_id, {{ experiment_columns | join(', ') }}
    from {{ ref('experiment_assignments') }}
    where is_active and {{ card_document_members('profile_id') }}
),

-- The member's arm in each running experiment: the PWA logs these with every card impression.
experiments as (
    select profile_id, {{ group_digest(experiment_columns) }} as inputs,
        {{ sorted_list(json_object_of("'key'", 'experiment_key', "'arm'", 'arm'), 'experiment_key') }} as arms
    from experiment_rows
    group by profile_id
)

select
    m.brand_id,
    m.user_id,
    m.profile_id,
    cast({{ row_hash(member_columns + ['w.inputs', 'a.inputs', 'c.inputs', 'x.inputs']) }} as {{ text_type() }}) as inputs_digest,
    {% call json_object_of() %}
        'schema_version', '2.1',
        'brand_id', m.brand_id,
        'user_id', m.user_id,
        'profile_id', m.profile_id,
        'generated_at', {{ format_instant(as_of(), '%Y-%m-%dT%H:%M:%SZ') }},
        'points_balance', m.points_balance,
        'rank', {% call json_embedded() %}{% call json_object_of() %}'key', m.rank_key, 'name', m.rank_name,
                            'multiplier', {{ card_multiplier('m.rank_multiplier') }},
                            'next_rank_key', m.next_rank_key, 'next_rank_points', m.next_rank_points,
                            'points_to_next_rank', greatest(m.next_rank_points - m.lifetime_points, 0){% endcall %}{% endcall %},
        'wishlist_goals', {{ json_embedded_list('coalesce(w.goals, ' ~ empty_list() ~ ')') }},
        'achievements', {{ json_embedded_list('coalesce(a.progress, ' ~ empty_list() ~ ')') }},
        'cards', {{ json_embedded_list('c.cards') }},
        'experiments', {{ json_embedded_list('coalesce(x.arms, ' ~ empty_list() ~ ')') }}
    {% endcall %} as document
from members as m
left join wishlist as w using (profile_id)
left join achievements as a using (profile_id)
left join cards as c using (profile_id)
left join experiments as x using (profile_id)
