{#- Card documents carry typed numbers, never raw doubles: points and counts are integers, amounts
    have two decimals, multipliers two, probabilities and shares four, percents one. A double
    summed in another order differs in its last bits; rounded to its type it cannot, so a rebuild
    of the same data gives the same bytes. -#}
{% macro card_points(value) -%} cast(round({{ value }}) as bigint) {%- endmacro %}
{% macro card_amount(value) -%} cast(round({{ value }}, 2) as decimal(18, 2)) {%- endmacro %}
{% macro card_multiplier(value) -%} cast(round({{ value }}, 2) as decimal(6, 2)) {%- endmacro %}
{% macro card_ratio(value) -%} cast(round({{ value }}, 4) as decimal(5, 4)) {%- endmacro %}
{% macro card_percent(value) -%} cast(round({{ value }}, 1) as decimal(4, 1)) {%- endmacro %}

{#- A progress number as JSON: amounts with two decimals, everything else (points, actions, days,
    weeks) an integer. -#}
{% macro progress_json(value, unit) -%}
    {% call json_embedded() %}case when ({{ unit }}) = 'amount' then {{ json_number(card_amount(value)) }} else {{ json_number(card_points(value)) }} end{% endcall %}
{%- endmacro %}

{#- The unit of an achievement's progress: an amount for sums, days or weeks for streaks, else actions. -#}
{% macro achievement_unit(metric, streak_unit) -%}
    case ({{ metric }}) when 'sum' then 'amount' when 'streak' then coalesce({{ streak_unit }}, 'day') || 's' else 'actions' end
{%- endmacro %}
