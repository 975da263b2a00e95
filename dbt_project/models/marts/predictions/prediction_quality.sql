-- How well the churn predictions of each brand and prediction date separated the members who then churned
-- from those who stayed, over the judged predictions (churn_prediction_outcomes):
-- AUC-ROC by the rank-sum (Mann-Whitney) formula, tied probabilities sharing their average rank, so it is
-- the probability that a churner scored higher than a stayer, ties counting half;
-- precision and recall of flagging HIGH risk or above (probability >= var churn_risk_high);
-- the Brier score (mean squared error of the probability against the 0/1 outcome).
with judged as (
    select brand_id, prediction_date, churn_probability, is_high_risk, churned::int as churned
    from {{ ref('churn_prediction_outcomes') }}
    where is_judged
),

ranked as (
    select *,
        -- The average of the ranks a group of equal probabilities occupies.
        rank() over by_probability + {{ ratio('(count(*) over tied - 1)', '2.0') }} as probability_rank
    from judged
    window by_probability as (partition by brand_id, prediction_date order by churn_probability),
        tied as (partition by brand_id, prediction_date, churn_probability)
),

counted as (
    select brand_id, prediction_date,
        count(*) as predictions,
        cast(sum(churned) as bigint) as churned,
        cast(count(*) - sum(churned) as bigint) as stayed,
        sum(probability_rank) filter (where churned = 1) as churned_rank_sum,
        count(*) filter (where is_high_risk) as flagged_high,
        count(*) filter (where is_high_risk and churned = 1) as flagged_high_churned,
        avg({{ power('(churn_probability - churned)', 2) }}) as brier_score,
        avg(churn_probability) as mean_probability
    from ranked
    group by brand_id, prediction_date
)

select
    brand_id,
    prediction_date,
    predictions,
    churned,
    stayed,
    round(churned / predictions, 4) as churn_rate,
    round(mean_probability, 4) as mean_probability,
    case when churned > 0 and stayed > 0 then
        (churned_rank_sum - churned * (churned + 1) / 2.0) / (churned * stayed)
    end as auc_roc,
    cast({{ var('churn_risk_high') }} as double) as high_risk_threshold,
    flagged_high,
    flagged_high_churned,
    flagged_high_churned / nullif(flagged_high, 0) as precision_at_high,
    flagged_high_churned / nullif(churned, 0) as recall_at_high,
    brier_score
from counted
