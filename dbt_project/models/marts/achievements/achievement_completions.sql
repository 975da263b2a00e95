{{ config(
    materialized='incremental',
    unique_key=['profile_id', 'achievement_config_id', 'window_key'],
    on_schema_change='fail',
    full_refresh=false,
    pre_hook="{% if is_incremental() %}{{ follow_profile_merges(this, ['achievement_config_id', 'window_key'], 'detected_at') }}{% endif %}",
    post_hook="{{ delete_rows(this, 'profile_id in (select profile_id from ' ~ ref('int_identity__erased_profiles') ~ ')') }}"
) }}
-- The completion feed: every completion once, stamped with the build that first detected it.
-- Rows with detected_at after a reader's cursor are the completions new to that reader (the app
-- awards the points; the platform never changes balances). Erased members are removed. When profiles
-- merge, their completions move to the surviving profile first, so a completion one of them already had
-- is not detected again. A full refresh leaves the feed alone: rebuilt, every completion would be stamped
-- new and awarded again.
select
    c.*,
    cast('{{ run_started_at }}' as {{ instant_type() }}) as detected_at,
    '{{ invocation_id }}' as detected_by_invocation
from {{ ref('int_achievements__completions') }} as c
{% if is_incremental() %}
{{ anti_join() }} {{ this }} as seen using (profile_id, achievement_config_id, window_key)
{% endif %}
