{#- Calendar arithmetic happens in the brand's time zone: a member's day is the brand's day, so an
    as-of time after midnight UTC but before midnight in the brand's zone is still the day before. -#}
{% macro local_date(ts, timezone) -%}
    cast({{ local_timestamp(ts, timezone) }} as date)
{%- endmacro %}

{#- Calendar days from start to end, counted in the brand's time zone. -#}
{% macro local_days_between(start_ts, end_ts, timezone) -%}
    {{ days_between(local_date(start_ts, timezone), local_date(end_ts, timezone)) }}
{%- endmacro %}
