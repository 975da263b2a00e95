{#- Fills a card_actions template: {brand_id} from the brand, every other placeholder from the
    card's target (URL-encoded). A placeholder the target has no value for stays as it is, so the
    member_cards test on unresolved placeholders reports the misconfigured template. -#}
{% macro deep_link(template, brand_id, target) -%}
    {%- set keys = ['reward_id', 'product_id', 'achievement_key', 'rank_key', 'offer_key'] -%}
    {% for key in keys %}replace({% endfor %}replace({{ template }}, '{brand_id}', cast({{ brand_id }} as {{ text_type() }}))
    {%- for key in keys %}, '{{ "{" ~ key ~ "}" }}', coalesce({{ url_encoded(json_text(target, '$.' ~ key)) }}, '{{ "{" ~ key ~ "}" }}')){% endfor %}
{%- endmacro %}
