-- Calibration of the judged churn predictions per brand and prediction date: var calibration_bins
-- equal-width probability bins over [0, 1] (a probability of exactly 1 falls in the last bin), each with
-- its mean predicted probability against the share that churned. A well-calibrated model has the two close.
with binned as (
    select brand_id, prediction_date, churn_probability, churned::int as churned,
        least(floor(churn_probability * {{ var('calibration_bins') }}), {{ var('calibration_bins') }} - 1)::int
            as probability_bin
    from {{ ref('churn_prediction_outcomes') }}
    where is_judged
)

select
    brand_id,
    prediction_date,
    probability_bin,
    probability_bin / {{ var('calibration_bins') }} as bin_lower,
    (probability_bin + 1) / {{ var('calibration_bins') }} as bin_upper,
    count(*) as predictions,
    avg(churn_probability) as mean_probability,
    avg(churned) as observed_churn_rate
from binned
group by brand_id, prediction_date, probability_bin
