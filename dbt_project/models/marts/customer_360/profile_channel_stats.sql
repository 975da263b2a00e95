{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          pre_hook="{% if is_incremental() %}{{ forget_changed_profiles(this, channel_stats_inputs_digest()) }}{% endif %}") }}
-- Where each profile engages: preferred channel, breakdown by channel, online vs store
-- purchases, and the favourite product category on each channel.
-- Incremental: a build computes again only the profiles whose events changed since the resolution this table last
-- applied (new events, events moved by identity resolution) and those it holds no row of; the pre-hook deleted the
-- changed ones' rows (macros/profile_aggregates.sql). Everything is written again when the products' categories
-- changed (`inputs_digest`). A full refresh gives the same rows.
-- depends_on: {{ ref('int_identity__erased_profiles') }}, {{ source('identity', 'resolutions') }}
-- depends_on: {{ source('identity', 'record_profile_changes') }}
with
{%- if is_incremental() %}
-- The profiles this build computes: those the table holds no row of once the pre-hook ran.
written as {{ materialized_cte() }} {{ profiles_without_rows('select profile_id from ' ~ ref('int_identity__profile_events')
                                                             ~ ' where profile_id is not null') }},
{%- endif %}

events as (
    select profile_id, brand_id, coalesce(channel, 'unknown') as channel, action_type
    from {{ ref('int_identity__profile_events') }}
    where profile_id is not null
    {%- if is_incremental() %} and profile_id in (select profile_id from written){% endif %}
),

by_channel as (
    select profile_id, channel, count(*) as events
    from events
    group by all
),

category_by_channel as (
    select profile_id, coalesce(channel, 'unknown') as channel, product_form, count(*) as n
    from {{ ref('int_customer_360__purchases') }}
    where product_form is not null
    {%- if is_incremental() %} and profile_id in (select profile_id from written){% endif %}
    group by all
),

top_category as (
    select profile_id,
        {{ sorted_map('channel', 'product_form') }} as category_affinity_by_channel
    from (
        select profile_id, channel, {{ arg_max('product_form', ['n', 'product_form']) }} as product_form
        from category_by_channel group by all
    )
    group by all
),

totals as (
    select profile_id, any_value(brand_id) as brand_id, count(*) as total_events,
        count(*) filter (where action_type = 'purchase') as online_purchases,
        count(*) filter (where action_type = 'pos_transaction') as store_purchases,
        count(*) filter (where action_type = 'product_scanned') as product_scans,
        count(*) filter (where action_type = 'whatsapp_message') as whatsapp_conversations
    from events
    group by all
),

channels as (
    select c.profile_id, {{ arg_max('c.channel', ['c.events', 'c.channel']) }} as preferred_channel,
        {{ sorted_map('c.channel', 'c.events') }} as events_by_channel,
        {{ sorted_map('c.channel', 'round(c.events / t.total_events, 4)') }} as share_by_channel
    from by_channel as c
    inner join totals as t using (profile_id)
    group by c.profile_id
)

select
    t.profile_id,
    t.brand_id,
    c.preferred_channel,
    t.total_events,
    c.events_by_channel,
    c.share_by_channel,
    t.online_purchases + t.store_purchases + t.product_scans as total_purchases,
    t.online_purchases,
    t.store_purchases,
    t.product_scans,
    t.whatsapp_conversations,
    tc.category_affinity_by_channel,
    {{ events_resolution() }} as resolution,
    {{ channel_stats_inputs_digest() }} as inputs_digest
from totals as t
inner join channels as c using (profile_id)
left join top_category as tc using (profile_id)
