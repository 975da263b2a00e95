{#- LOW / MEDIUM / HIGH / CRITICAL from a churn probability; cut points are dbt vars. -#}
{% macro churn_risk_level(probability) -%}
    case
        when ({{ probability }}) >= {{ var('churn_risk_critical') }} then 'CRITICAL'
        when ({{ probability }}) >= {{ var('churn_risk_high') }} then 'HIGH'
        when ({{ probability }}) >= {{ var('churn_risk_medium') }} then 'MEDIUM'
        when ({{ probability }}) is not null then 'LOW'
    end
{%- endmacro %}
