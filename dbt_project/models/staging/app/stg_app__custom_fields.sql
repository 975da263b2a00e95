select
    id as custom_field_id,
    brand_id,
    field_key,
    field_label,
    field_type,
    field_options,
    coalesce(is_required, false) as is_required,
    coalesce(field_order, 0) as field_order,
    coalesce(is_active, true) as is_active
from {{ source('raw', 'app_custom_fields') }}
