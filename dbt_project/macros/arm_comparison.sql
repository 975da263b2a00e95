{#- The published columns of a treatment arm against its control, for a select over rows holding the arm
    sizes n1 and n0, the uplift (treatment minus control) with its interval uplift_lower and uplift_upper,
    min_detectable_uplift and `needed`, the size each arm needs to detect it. `trials` names what the arms
    count (impressions, members); `control` is the control's value the relative uplift divides by. Used by
    experiment_results, at_risk_retention_results and experiment_revenue. -#}
{% macro arm_comparison(trials, control) -%}
    round(uplift, 6) as uplift,
    round(uplift_lower, 6) as uplift_lower,
    round(uplift_upper, 6) as uplift_upper,
    round(uplift / nullif({{ control }}, 0), 6) as relative_uplift,
    uplift_lower > 0 or uplift_upper < 0 as is_significant,
    min_detectable_uplift,
    cast(needed as bigint) as {{ trials }}_needed_per_arm,
    -- greatest() skips nulls: without a size there is nothing still needed to say.
    cast(case when needed is not null then greatest(needed - n1, 0) end as bigint) as treatment_{{ trials }}_still_needed,
    cast(case when needed is not null then greatest(needed - n0, 0) end as bigint) as control_{{ trials }}_still_needed
{%- endmacro %}
