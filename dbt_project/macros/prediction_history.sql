{#- Keeping marts.prediction_history per member profile: a build deletes the rows of every profile whose payloads may
    have changed, and the model computes again every profile the table then holds no row of. A day brings new
    predictions for a few members; the others' history stays as it was. -#}

{#- For every member profile, a digest of its members and their webhook payloads (`payloads_digest`): it changes when
    a payload arrives, late ones too, when erasure removes one, and when identity resolution moves a member to another
    profile. Engine-specific values, compared only with the same engine's. `members` may be a subset of the members
    (whole profiles). -#}
{% macro prediction_payloads_digests(members=ref('int_features__members')) -%}
    select m.profile_id,
        cast({{ group_digest(['m.brand_id', 'm.user_id', 'w.webhook_id', 'w.received_at']) }} as decimal(38, 0))
            as payloads_digest
    from {{ members }} as m
    left join {{ ref('stg_customerio__prediction_webhooks') }} as w using (user_id)
    group by m.profile_id
{%- endmacro %}

{#- What the rows depend on besides the payloads and the members: the brands and their time zones (a prediction's
    date) and the churn risk cut points. -#}
{% macro prediction_history_inputs_digest() -%}
    cast({{ rows_digest(ref('stg_app__brands'), ['brand_id', 'timezone']) }} as {{ text_type() }})
    || ' {{ var("churn_risk_critical") }} {{ var("churn_risk_high") }} {{ var("churn_risk_medium") }}'
{%- endmacro %}

{#- The latest load of people exports (the exports a build read), null before the first. -#}
{% macro exports_loaded_at() -%}
    (select max(loaded_at) from {{ ref('stg_customerio__exports') }})
{%- endmacro %}

{#- The prediction webhooks' payloads, one row each: the columns export_prediction_payloads gives too, in the same
    order (the model's union matches them by position). `users` (a SELECT of user ids) limits them to those members. -#}
{% macro webhook_prediction_payloads(users=none) -%}
    select user_id, received_at, webhook_id as payload_id, false as is_export,
        churn_probability, engagement_score, predicted_ltv, purchase_probability, predicted_purchase_value,
        recommended_segment, next_best_action
    from {{ ref('stg_customerio__prediction_webhooks') }}
    {%- if users %}
    where user_id in ({{ users }})
    {%- endif %}
{%- endmacro %}

{#- The people exports' prediction payloads, in the columns and order of webhook_prediction_payloads'. A people
    export carries the prediction attributes Customer.io holds: usually the values its webhooks already delivered,
    sometimes one the receiver missed. Only a value that differs from the member's latest webhook value of that field
    before the export is a prediction of its own, dated by the export (it was made no later than that). `users` (a
    SELECT of user ids) limits it to those members; `loaded_since` (SQL) to the exports loaded at or after that time,
    when it is not null. -#}
{% macro export_prediction_payloads(users=none, loaded_since=none) -%}
    {%- set received -%}
        (select user_id, received_at, {field} from {{ ref('stg_customerio__prediction_webhooks') }}
         where {field} is not null{% if users %} and user_id in ({{ users }}){% endif %})
    {%- endset -%}
    select * from (
        select e.user_id, e.received_at, e.payload_id, true as is_export,
            case when e.churn_probability is distinct from c.churn_probability then e.churn_probability end
                as churn_probability,
            null as engagement_score,
            case when e.predicted_ltv is distinct from l.predicted_ltv then e.predicted_ltv end as predicted_ltv,
            null as purchase_probability, null as predicted_purchase_value, null as recommended_segment,
            null as next_best_action
        from (
            select try_cast(customer_id as bigint) as user_id, exported_at as received_at,
                person_key || '@' || {{ format_instant('exported_at', '%Y%m%dT%H%M%S') }} as payload_id,
                try_cast({{ json_text('attributes', '$.churn_probability') }} as double) as churn_probability,
                try_cast({{ json_text('attributes', '$.predicted_ltv') }} as double) as predicted_ltv
            from {{ ref('stg_customerio__exports') }}
            where true
            {%- if users %} and try_cast(customer_id as bigint) in ({{ users }}){% endif %}
            {%- if loaded_since %} and ({{ loaded_since }} is null or loaded_at >= {{ loaded_since }}){% endif %}
        ) as e
        {{ asof_left_join(received.replace('{field}', 'churn_probability'), 'c', 'user_id', 'e.user_id', 'received_at', '<=', 'e.received_at') }}
        {{ asof_left_join(received.replace('{field}', 'predicted_ltv'), 'l', 'user_id', 'e.user_id', 'received_at', '<=', 'e.received_at') }}
    ) as payloads
    where churn_probability is not null or predicted_ltv is not null
{%- endmacro %}

{#- Pre-hook of prediction_history. When the inputs digest changed, every row goes and the model writes them all
    again. Otherwise the rows go of the profiles whose payloads digest is not the one they were written with (new or
    late webhooks, erasures, members that moved, profiles no longer a member's), and of the profiles with a prediction
    in an export loaded since the last export the table read (every export when it read none). That one is read
    again, at or after: a load that shares its time is not missed, at the cost of computing its few profiles with a
    prediction of their own again on every build until a newer export is loaded. -#}
{% macro forget_changed_prediction_profiles(relation) -%}
    {%- if execute -%}
        {%- if 'payloads_digest' not in adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
            {{ exceptions.raise_compiler_error(relation ~ ' was built before it kept its rows per profile: '
                                               ~ 'rebuild it once with `synergy run --full-refresh`') }}
        {%- endif -%}
        {%- set changed -%}
            profile_id in (
                select profile_id from (
                    select profile_id, payloads_digest from {{ relation }}
                    except
                    select profile_id, payloads_digest from ({{ synergy.prediction_payloads_digests() }}) as d
                ) as stale
                union all
                select m.profile_id
                from ({{ synergy.export_prediction_payloads(
                          loaded_since='(select max(exports_loaded_at) from ' ~ relation ~ ')') }}) as p
                inner join {{ ref('int_features__members') }} as m using (user_id))
        {%- endset -%}
        {{ synergy.forget_stale_rows(relation, synergy.prediction_history_inputs_digest(),
                                     'time zones or churn risk cut points', changed) }}
    {%- endif -%}
{%- endmacro %}
