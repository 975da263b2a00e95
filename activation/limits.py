"""Customer.io's documented Track API limits (SPEC §3.3), with a little headroom where the docs
say "under"."""

BATCH_MAX_BYTES = 500_000  # the whole /api/v2/batch body must be under 500 KB
ITEM_MAX_BYTES = 32_000  # each batch item at most 32 KB
EVENT_DATA_MAX_BYTES = 100_000  # event data at most 100 KB
ATTRIBUTE_VALUE_MAX_BYTES = 1_000  # one attribute value at most 1000 bytes
MAX_ATTRIBUTES = 300  # attributes per person
ID_MAX_BYTES = 150  # identifiers and event names
