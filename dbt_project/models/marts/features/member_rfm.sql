-- RFM scores and segment per member. Scores are tie-safe: cut points are the brand's
-- quintiles of each measure, and a score counts the cut points a value passes, so equal values
-- always get equal scores (plain NTILE splits ties across buckets).
with values_ as (
    select * from {{ ref('int_features__rfm_values') }}
),

cuts as (
    select brand_id,
        {{ quantiles('recency_days', [0.2, 0.4, 0.6, 0.8]) }} as recency_cuts,
        {{ quantiles('frequency', [0.2, 0.4, 0.6, 0.8]) }} as frequency_cuts,
        {{ quantiles('monetary', [0.2, 0.4, 0.6, 0.8]) }} as monetary_cuts
    from values_
    group by all
),

scored as (
    select v.*,
        -- Fewer days since the last purchase is better; no purchase in the window is the worst.
        case when v.recency_days is null then 1
             else 1 + {{ count_matching('c.recency_cuts', 'x', 'v.recency_days < x') }} end as r_score,
        case when v.frequency = 0 then 1
             else 1 + {{ count_matching('c.frequency_cuts', 'x', 'v.frequency > x') }} end as f_score,
        case when v.monetary = 0 then 1
             else 1 + {{ count_matching('c.monetary_cuts', 'x', 'v.monetary > x') }} end as m_score
    from values_ as v
    inner join cuts as c using (brand_id)
)

select
    s.brand_id,
    s.user_id,
    s.profile_id,
    s.recency_days,
    s.last_purchase_at,
    s.frequency,
    s.monetary,
    cast(s.r_score as integer) as r_score,
    cast(s.f_score as integer) as f_score,
    cast(s.m_score as integer) as m_score,
    s.r_score || '' || s.f_score || '' || s.m_score as rfm_cell,
    (select {{ arg_min('g.segment', 'g.position') }} from {{ ref('rfm_segments') }} as g
     where s.r_score between g.r_min and g.r_max and s.f_score between g.f_min and g.f_max) as segment
from scored as s
