{#- How strongly one identifier type points at one person (0-1): a member id or an email does,
    a cookie or the last four digits of a card barely do. -#}
{% macro identifier_type_weight(id_type) -%}
    case {{ id_type }}
        when 'user_id' then 1.0 when 'email' then 0.95 when 'phone' then 0.9 when 'whatsapp' then 0.9
        when 'loyalty_id' then 0.85 when 'qr_id' then 0.6 when 'device_id' then 0.6 when 'cookie_id' then 0.4
        when 'card_last4' then 0.2 else 0.1
    end
{%- endmacro %}
