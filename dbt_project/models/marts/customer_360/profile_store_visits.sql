-- Physical store visits: store check-ins, POS transactions and in-store QR scans of one profile
-- on one local day (the brand's time zone) make one visit.
with store_events as (
    select e.profile_id, e.brand_id, e.occurred_at, e.action_type, e.amount,
        {{ local_date('e.occurred_at', 'b.timezone') }} as visit_date
    from {{ ref('int_identity__profile_events') }} as e
    inner join {{ ref('stg_app__brands') }} as b using (brand_id)
    where e.profile_id is not null and e.action_type in ('store_visit', 'pos_transaction', 'qr_scan')
)

select
    profile_id,
    brand_id,
    visit_date,
    min(occurred_at) as first_event_at,
    max(occurred_at) as last_event_at,
    count(*) as store_actions,
    count(*) filter (where action_type = 'pos_transaction') as transactions,
    cast(round(coalesce(sum(amount), 0), 2) as decimal(18, 2)) as amount_spent
from store_events
group by all
