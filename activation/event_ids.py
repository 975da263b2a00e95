"""Deterministic Customer.io event ids.

Customer.io deduplicates events by their `id`, which must be a ULID. Deriving it from the source
event (brand + event key) and its time makes every resend of the same event carry the same id, so a
retry after a lost response, or a rerun after a crash, is absorbed by Customer.io.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
from ulid import ULID


def event_ulid(brand_id: int, event_key: str, occurred_at: datetime) -> str:
    """48 bits of the event's millisecond time (so ids sort by time, as ULIDs should) and 80 bits of
    a hash of the brand and event key."""
    millis = max(0, int(occurred_at.timestamp() * 1000))
    digest = hashlib.sha256(f"{brand_id}:{event_key}".encode()).digest()
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + digest[:10]))


CROCKFORD = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", np.uint8)


def ulid_texts(high: np.ndarray, low: np.ndarray) -> pa.Array:
    """ULID strings of 128-bit values given as two uint64 halves, vectorized (Crockford base32, 26 chars).

    Character k holds bits [5 * (25 - k), 5 * (25 - k) + 5) of the value (its top two bits are zero)."""
    high, low = high.astype(np.uint64), low.astype(np.uint64)
    codes = np.empty((len(high), 26), np.uint8)
    for k in range(26):
        shift = 5 * (25 - k)
        if shift >= 64:
            index = (high >> np.uint64(shift - 64)) & np.uint64(31)
        elif shift + 5 <= 64:
            index = (low >> np.uint64(shift)) & np.uint64(31)
        else:  # straddles the halves
            index = ((low >> np.uint64(shift)) | (high << np.uint64(64 - shift))) & np.uint64(31)
        codes[:, k] = CROCKFORD[index]
    texts = pa.Array.from_buffers(pa.binary(26), len(high), [None, pa.py_buffer(codes)])
    return texts.cast(pa.string())


def register_ulid_function(con: duckdb.DuckDBPyConnection) -> None:
    """`event_ulid(brand_id, event_key, occurred_at)` in SQL: the same id as event_ulid() above, for a whole
    column at a time (the hash in SQL, the base32 text in numpy)."""
    try:
        con.create_function("_ulid_text", lambda high, low: ulid_texts(high.to_numpy(), low.to_numpy()),
                            [duckdb.sqltype("UBIGINT"), duckdb.sqltype("UBIGINT")], duckdb.sqltype("VARCHAR"),
                            type="arrow", side_effects=False)
    except (duckdb.CatalogException, duckdb.NotImplementedException):
        return  # this connection has it already
    hashed = "CAST('0x' || left(sha256(CAST(brand_id AS VARCHAR) || ':' || event_key), 20) AS UHUGEINT)"
    con.execute(f"""
        CREATE OR REPLACE TEMP MACRO event_ulid(brand_id, event_key, occurred_at) AS _ulid_text(
            (CAST(greatest(0, epoch_ms(occurred_at)) AS UBIGINT) << 16) | CAST({hashed} >> 64 AS UBIGINT),
            CAST({hashed} & CAST(18446744073709551615 AS UHUGEINT) AS UBIGINT))""")
