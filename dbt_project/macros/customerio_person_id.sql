{#- The id a member has in the brand's Customer.io workspace (the integration spec's "user-123"). -#}
{% macro customerio_person_id(user_id) -%}
    ('user-' || cast({{ user_id }} as {{ text_type() }}))
{%- endmacro %}
