{#- Comparing two proportions (x successes of n trials), as experiment_results does.
    The interval of a difference p1 - p2 is Newcombe's hybrid score interval (Newcombe 1998, method
    10), built from the Wilson score intervals of each proportion at 95%; the sample size is the
    standard normal-approximation formula for a two-sided test at 5% with 80% power and equal arms.
    Constants: z(0.975) and z(0.80). -#}
{% macro z_alpha() %}1.959963984540054{% endmacro %}
{% macro z_power() %}0.8416212335729143{% endmacro %}

{#- One end of the Wilson score interval of x / n: sign -1 for the lower end, +1 for the upper. -#}
{% macro wilson_bound(x, n, sign) -%}
    (({{ x }} / {{ n }} + {{ power(z_alpha(), 2) }} / (2 * {{ n }})
      {{ '-' if sign < 0 else '+' }} {{ z_alpha() }} * sqrt(({{ x }} / {{ n }}) * (1 - {{ x }} / {{ n }}) / {{ n }}
                                    + {{ power(z_alpha(), 2) }} / (4 * {{ power(n, 2) }})))
     / (1 + {{ power(z_alpha(), 2) }} / {{ n }}))
{%- endmacro %}

{#- Newcombe's interval of p1 - p2: sign -1 for the lower end, +1 for the upper. -#}
{% macro newcombe_bound(x1, n1, x2, n2, sign) -%}
    {%- if sign < 0 -%}
    ({{ x1 }} / {{ n1 }} - {{ x2 }} / {{ n2 }}
     - sqrt({{ power('((' ~ x1 ~ ' / ' ~ n1 ~ ') - ' ~ wilson_bound(x1, n1, -1) ~ ')', 2) }} + {{ power('(' ~ wilson_bound(x2, n2, 1) ~ ' - (' ~ x2 ~ ' / ' ~ n2 ~ '))', 2) }}))
    {%- else -%}
    ({{ x1 }} / {{ n1 }} - {{ x2 }} / {{ n2 }}
     + sqrt({{ power('(' ~ wilson_bound(x1, n1, 1) ~ ' - (' ~ x1 ~ ' / ' ~ n1 ~ '))', 2) }} + {{ power('((' ~ x2 ~ ' / ' ~ n2 ~ ') - ' ~ wilson_bound(x2, n2, -1) ~ ')', 2) }}))
    {%- endif -%}
{%- endmacro %}

{#- Trials needed in each of two equal arms to detect a change of a proportion from p0 to p1. -#}
{% macro two_proportion_sample_size(p0, p1) -%}
    {%- set base -%}
    (({{ z_alpha() }} * sqrt(2 * (({{ p0 }} + {{ p1 }}) / 2) * (1 - ({{ p0 }} + {{ p1 }}) / 2))
           + {{ z_power() }} * sqrt({{ p0 }} * (1 - {{ p0 }}) + {{ p1 }} * (1 - {{ p1 }})))
          / nullif({{ p1 }} - {{ p0 }}, 0))
    {%- endset %}
    ceil({{ power(base, 2) }})
{%- endmacro %}

{#- A treatment (x1 of n1) against its control (x0 of n0), for a select over rows holding those four and
    min_detectable_uplift: the difference of the rates, its interval, and the size each arm needs to detect
    the relative uplift, before rounding (two_proportion_comparison reads these). -#}
{% macro two_proportion_estimates() -%}
    x1 / n1 - x0 / n0 as uplift,
    {{ newcombe_bound('x1', 'n1', 'x0', 'n0', -1) }} as uplift_lower,
    {{ newcombe_bound('x1', 'n1', 'x0', 'n0', 1) }} as uplift_upper,
    {{ two_proportion_sample_size('x0 / n0', 'least(x0 / n0 * (1 + min_detectable_uplift), 1)') }} as needed
{%- endmacro %}

{#- The comparison's published columns over two_proportion_estimates: each arm's trials, successes and rate,
    named treatment_<trials> and so on (impressions, members), then the uplift and the sizes. -#}
{% macro two_proportion_comparison(trials, successes, rate) -%}
    cast(n1 as bigint) as treatment_{{ trials }},
    cast(x1 as bigint) as treatment_{{ successes }},
    round(x1 / n1, 6) as treatment_{{ rate }},
    cast(n0 as bigint) as control_{{ trials }},
    cast(x0 as bigint) as control_{{ successes }},
    round(x0 / n0, 6) as control_{{ rate }},
    {{ arm_comparison(trials, 'x0 / n0') }}
{%- endmacro %}
