select
    id as wishlist_id,
    user_id,
    product_id,
    added_at
from {{ source('raw', 'app_wishlists') }}
