{#- Canonical form of an identifier value; null when it cannot be a valid identifier of its type. -#}
{% macro normalize_identifier(id_type, raw, timezone) -%}
    case
        when nullif(trim({{ raw }}), '') is null then null
        when {{ id_type }} = 'email' then
            case when {{ full_match('lower(trim(' ~ raw ~ '))', "'[^@\\s]+@[^@\\s]+\\.[^@\\s]+'") }}
                 then lower(trim({{ raw }})) end
        when {{ id_type }} in ('phone', 'whatsapp') then phone_e164({{ raw }}, {{ timezone }})
        when {{ id_type }} = 'card_last4' then
            case when {{ full_match('trim(' ~ raw ~ ')', "'[0-9]{4}'") }} then trim({{ raw }}) end
        else trim({{ raw }})
    end
{%- endmacro %}

{#- Why a raw value was not usable (null when it was). -#}
{% macro invalid_identifier_reason(id_type, raw, normalized) -%}
    case
        when {{ normalized }} is not null then null
        when nullif(trim({{ raw }}), '') is null then 'empty'
        else 'invalid_' || {{ id_type }}
    end
{%- endmacro %}
