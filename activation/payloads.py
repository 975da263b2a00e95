"""Track API v2 batch items, kept inside Customer.io's limits.

An item over a limit is never sent to fail: an oversize attribute value or string is truncated, extra
attributes are dropped, and each change is returned as a warning the sync records. What cannot be
made to fit (an id over 150 bytes, an item whose structure alone is too big) raises `Unsendable`,
which the sync dead-letters with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from activation.limits import (
    ATTRIBUTE_VALUE_MAX_BYTES,
    EVENT_DATA_MAX_BYTES,
    ID_MAX_BYTES,
    ITEM_MAX_BYTES,
    MAX_ATTRIBUTES,
)

TRUNCATION_MARK = "…"


@dataclass(frozen=True)
class LimitWarning:
    field: str
    message: str


class Unsendable(ValueError):
    """An item that no truncation can bring inside the limits."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Item:
    """One encoded batch item and what was changed to make it fit."""

    body: bytes
    warnings: tuple[LimitWarning, ...] = ()


def encode(value: Any) -> bytes:
    return orjson.dumps(value)


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix within max_bytes (mark included), never cutting a character in two."""
    raw = text.encode()
    if len(raw) <= max_bytes:
        return text
    keep = max_bytes - len(TRUNCATION_MARK.encode())
    return raw[:keep].decode(errors="ignore") + TRUNCATION_MARK


def _check_id(field: str, value: str) -> None:
    if not value:
        raise Unsendable("missing_identifier", f"{field} is empty")
    if len(value.encode()) > ID_MAX_BYTES:
        raise Unsendable("id_too_long", f"{field} is over {ID_MAX_BYTES} bytes")


def _person(person_id: str) -> dict[str, Any]:
    _check_id("identifiers.id", person_id)
    return {"type": "person", "identifiers": {"id": person_id}}


def identify(person_id: str, attributes: dict[str, Any]) -> Item:
    warnings: list[LimitWarning] = []
    kept: dict[str, Any] = {}
    for key in sorted(attributes):
        if len(kept) == MAX_ATTRIBUTES:
            warnings.append(LimitWarning("attributes", f"{len(attributes) - MAX_ATTRIBUTES} attributes over the "
                                                       f"{MAX_ATTRIBUTES} limit dropped (from {key!r} on)"))
            break
        value = attributes[key]
        size = len(value.encode()) if isinstance(value, str) else len(encode(value))
        if size <= ATTRIBUTE_VALUE_MAX_BYTES:
            kept[key] = value
        elif isinstance(value, str):
            kept[key] = truncate_utf8(value, ATTRIBUTE_VALUE_MAX_BYTES)
            warnings.append(LimitWarning(f"attributes.{key}", f"value of {size} bytes truncated to "
                                                              f"{ATTRIBUTE_VALUE_MAX_BYTES}"))
        else:
            warnings.append(LimitWarning(f"attributes.{key}", f"structured value of {size} bytes over "
                                                              f"{ATTRIBUTE_VALUE_MAX_BYTES} dropped"))
    item = {**_person(person_id), "action": "identify", "attributes": kept}
    return _fit(item, warnings)


def event(person_id: str, event_id: str, name: str, occurred_at: datetime, data: dict[str, Any]) -> Item:
    _check_id("name", name)
    item = {**_person(person_id), "action": "event", "id": event_id, "name": name,
            "timestamp": int(occurred_at.timestamp()), "attributes": data}
    warnings: list[LimitWarning] = []
    data_size = len(encode(data))
    if data_size > EVENT_DATA_MAX_BYTES:
        _shrink_strings(data, data_size - EVENT_DATA_MAX_BYTES, "attributes", warnings)
    return _fit(item, warnings)


def event_from_json(person_id: str, event_id: str, name: str, occurred_at: datetime, data_json: bytes) -> Item:
    """The common case without re-encoding: the event data's JSON is spliced in as it came from the
    warehouse; only data over a limit takes the parse-and-truncate path."""
    head = encode({**_person(person_id), "action": "event", "id": event_id, "name": name,
                   "timestamp": int(occurred_at.timestamp())})
    _check_id("name", name)
    body = head[:-1] + b',"attributes":' + data_json + b"}"
    if len(data_json) <= EVENT_DATA_MAX_BYTES and len(body) <= ITEM_MAX_BYTES:
        return Item(body)
    return event(person_id, event_id, name, occurred_at, orjson.loads(data_json))


def person_action(person_id: str, action: str) -> Item:
    """suppress / delete / unsuppress: no payload beyond the person."""
    return Item(encode({**_person(person_id), "action": action}))


def _fit(item: dict[str, Any], warnings: list[LimitWarning]) -> Item:
    body = encode(item)
    if len(body) > ITEM_MAX_BYTES and "attributes" in item:
        _shrink_strings(item["attributes"], len(body) - ITEM_MAX_BYTES, "attributes", warnings)
        body = encode(item)
    if len(body) > ITEM_MAX_BYTES:
        raise Unsendable("item_too_large", f"{len(body)} bytes over {ITEM_MAX_BYTES} even with strings truncated")
    return Item(body, tuple(warnings))


def _shrink_strings(obj: dict[str, Any] | list[Any], excess: int, path: str, warnings: list[LimitWarning]) -> None:
    """Cut the longest strings first until `excess` bytes are gone (or every string is short)."""
    leaves = sorted(_string_leaves(obj, path), key=lambda leaf: -len(leaf[2].encode()))
    for container, key, text, where in leaves:
        if excess <= 0:
            return
        size = len(text.encode())
        target = max(64, size - excess - len(TRUNCATION_MARK.encode()))
        if target >= size:
            continue
        container[key] = truncate_utf8(text, target)
        excess -= size - len(container[key].encode())
        warnings.append(LimitWarning(where, f"string of {size} bytes truncated to {len(container[key].encode())}"))


def _string_leaves(obj: Any, path: str):
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        where = f"{path}.{key}"
        if isinstance(value, str):
            yield obj, key, value, where
        elif isinstance(value, (dict, list)):
            yield from _string_leaves(value, where)
