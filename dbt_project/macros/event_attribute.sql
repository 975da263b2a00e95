{#- The value of an event attribute an achievement filter or field names, as text (null when the event has
    none of that name). Evaluated only for the rows a filter or field applies to. -#}
{% macro event_attribute(name) -%}
    case {{ name }}
        when 'product_id' then cast(product_id as {{ text_type() }})
        when 'product_form' then product_form
        when 'strain_type' then strain_type
        when 'strain_name' then strain_name
        when 'product_line' then product_line
        when 'amount' then cast(amount as {{ text_type() }})
        when 'msrp' then cast(msrp as {{ text_type() }})
        when 'channel' then channel
        when 'reward_id' then cast(reward_id as {{ text_type() }})
        when 'dominant_terpene' then dominant_terpene
    end
{%- endmacro %}
