{#- A member's assignment bucket (0-9999) in an experiment: the first 32 bits of
    md5('<experiment key>:<profile id>'), modulo 10,000. md5 is the same everywhere, so the PWA, a
    Customer.io campaign or an analyst can recompute it. -#}
{% macro experiment_bucket(experiment_key, profile_id) -%}
    {{ hex_to_bigint("left(md5(" ~ experiment_key ~ " || ':' || " ~ profile_id ~ "), 8)") }} % 10000
{%- endmacro %}
