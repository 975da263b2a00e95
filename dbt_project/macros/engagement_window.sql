{#- The engagement window (var engagement_window_days) and what int_features__engagement_by_profile, kept per profile
    across builds (macros/profile_aggregates.sql), depends on besides the events. -#}

{#- Whether the instant `column` falls in the window, which ends at the as-of time. -#}
{% macro in_engagement_window(column) -%}
    {%- set ends_at = as_of() -%}
    {{ column }} > {{ ends_at }} - {{ days_interval(var('engagement_window_days')) }} and {{ column }} <= {{ ends_at }}
{%- endmacro %}

{#- The profiles whose window gained or lost an action since the as-of time `relation` last applied (its newest
    `window_ends_at`), as a SELECT: their values changed though no event did. Those of the actions after that time up
    to the as-of time now, and of those that left the window's start meanwhile. A row a build did not write stays valid
    at the as-of times that followed, so the newest end is as good as the last build's, as long as the as-of time only
    moves on: when it went back (the as_of var can, or an erasure of the newest actions), every row goes. What the
    model's own code counts (parts of the day, features) is not in the digest: a change to it needs a full refresh. -#}
{% macro engagement_window_changes(relation) -%}
    {%- set now = as_of() -%}
    {%- set applied = synergy.newest_instant(relation, 'window_ends_at', now) -%}
    {%- set window = days_interval(var('engagement_window_days')) -%}
    {%- if run_query('select ' ~ now ~ ' < ' ~ applied).columns[0].values()[0] -%}
        {{ log(relation ~ ' last applied a later as-of time: rebuilt whole', info=true) }}
        select profile_id from {{ relation }}
    {%- else -%}
        select profile_id from {{ ref('int_identity__profile_events') }}
        where profile_id is not null and (
            (occurred_at > {{ applied }} and occurred_at <= {{ now }})
            or (occurred_at > {{ applied }} - {{ window }} and occurred_at <= {{ now }} - {{ window }}))
    {%- endif -%}
{%- endmacro %}

{#- What the window's aggregates depend on besides the events: the brands' time zones (parts of the day, active days),
    the products (each brand's catalogue, the categories), the window's length and the action types counted. -#}
{% macro engagement_inputs_digest() -%}
    cast({{ rows_digest(ref('stg_app__brands'), ['brand_id', 'timezone']) }}
         + {{ rows_digest(ref('stg_app__products'), ['product_id', 'brand_id', 'product_form']) }} as {{ text_type() }})
    || '{{ var("engagement_window_days") }} {{ var("action_types") | join(" ") }}'
{%- endmacro %}
