"""Packing encoded items into /api/v2/batch request bodies under the body size limit."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from activation.limits import BATCH_MAX_BYTES

K = TypeVar("K")

PREFIX, SEPARATOR, SUFFIX = b'{"batch":[', b",", b"]}"


def batch_body(items: Iterable[bytes]) -> bytes:
    return PREFIX + SEPARATOR.join(items) + SUFFIX


def pack(items: Iterable[tuple[K, bytes]], max_body_bytes: int = BATCH_MAX_BYTES,
         max_items: int | None = None) -> Iterator[list[tuple[K, bytes]]]:
    """Greedy, in order: a batch is closed when the next item would reach the limit.

    Items keep their order so a batch's `batch_index` maps back to the key of the item.
    """
    batch: list[tuple[K, bytes]] = []
    size = len(PREFIX) + len(SUFFIX)
    for key, body in items:
        added = len(body) + (len(SEPARATOR) if batch else 0)
        if batch and (size + added >= max_body_bytes or (max_items and len(batch) >= max_items)):
            yield batch
            batch, size, added = [], len(PREFIX) + len(SUFFIX), len(body)
        if size + added >= max_body_bytes:
            raise ValueError(f"an item of {len(body)} bytes cannot fit a body under {max_body_bytes} bytes")
        batch.append((key, body))
        size += added
    if batch:
        yield batch
