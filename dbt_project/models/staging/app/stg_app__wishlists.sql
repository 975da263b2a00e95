select
    id as wishlist_id,
    user_id,
    product_id,
    added_at
from {{ source('raw', 'app_wishlists') }}
where _erased_at is null  -- redacted for an erasure (erasure/redact.py)
