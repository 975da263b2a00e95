"""Deterministic Customer.io event ids.

Customer.io deduplicates events by their `id`, which must be a ULID. Deriving it from the source
event (brand + event key) and its time makes every resend of the same event carry the same id, so a
retry after a lost response, or a rerun after a crash, is absorbed by Customer.io.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from ulid import ULID


def event_ulid(brand_id: int, event_key: str, occurred_at: datetime) -> str:
    """48 bits of the event's millisecond time (so ids sort by time, as ULIDs should) and 80 bits of
    a hash of the brand and event key."""
    millis = max(0, int(occurred_at.timestamp() * 1000))
    digest = hashlib.sha256(f"{brand_id}:{event_key}".encode()).digest()
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + digest[:10]))
