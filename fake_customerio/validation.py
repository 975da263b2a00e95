"""Track API item validation: turns a v2 batch item (or a v1 call) into an Operation or an ItemError.

Limits follow the strictest reading of Customer.io's documented ones ("under 500 KB" per batch,
"32 KB" per item, read as decimal kilobytes), so a client that passes here passes there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

MAX_BATCH_BYTES = 500_000  # the body must be strictly smaller
MAX_ITEM_BYTES = 32_000
IDENTIFIER_KINDS = ("id", "email", "phone", "cio_id")
# Actions the fake applies to its state; the other documented person actions are accepted as no-ops.
APPLIED_ACTIONS = {"identify", "event", "delete", "suppress", "unsuppress"}
KNOWN_ACTIONS = APPLIED_ACTIONS | {"page", "screen", "add_device", "delete_device", "merge",
                                   "add_relationship", "delete_relationship"}
NAMED_ACTIONS = {"event", "page", "screen"}
# Crockford base32, 26 characters, first one at most 7 (128 bits).
ULID_RE = re.compile(r"[0-7][0-9A-HJKMNP-TV-Z]{25}", re.IGNORECASE)


@dataclass(slots=True)
class Operation:
    action: str
    person: str  # "<identifier kind>:<value>"
    identifiers: dict
    attributes: dict
    name: str | None = None
    event_id: str | None = None
    timestamp: int | None = None


@dataclass(slots=True)
class ItemError:
    reason: str
    field: str
    message: str


def is_ulid(value: object) -> bool:
    return isinstance(value, str) and ULID_RE.fullmatch(value) is not None


def person_key(identifiers: object) -> str | ItemError:
    if not isinstance(identifiers, dict):
        return ItemError("required", "identifiers", "identifiers must be an object")
    if len(identifiers) != 1:
        return ItemError("invalid", "identifiers", "identifiers must hold exactly one of id, email, phone, cio_id")
    [(kind, value)] = identifiers.items()
    if kind not in IDENTIFIER_KINDS:
        return ItemError("invalid", "identifiers", f"unknown identifier {kind!r}: expected id, email, phone or cio_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return ItemError("invalid", f"identifiers.{kind}", f"{kind} must be a non-empty string")
    return f"{kind}:{value}"


def event_fields(name: object, event_id: object, timestamp: object, named: bool) -> ItemError | None:
    if named and (not isinstance(name, str) or not name):
        return ItemError("required", "name", "name is required")
    if event_id is not None and not is_ulid(event_id):
        return ItemError("invalid", "id", "id must be a valid ULID")
    if timestamp is not None and (isinstance(timestamp, bool) or not isinstance(timestamp, int)):
        return ItemError("invalid", "timestamp", "timestamp must be a unix timestamp in seconds")
    return None


def parse_v2_item(item: object, check_size: bool) -> Operation | ItemError:
    if not isinstance(item, dict):
        return ItemError("invalid", "", "item must be an object")
    if check_size and len(orjson.dumps(item)) > MAX_ITEM_BYTES:
        return ItemError("too_large", "", f"item is larger than {MAX_ITEM_BYTES} bytes")
    if item.get("type") != "person":
        return ItemError("invalid", "type", "only type 'person' is supported")
    action = item.get("action")
    if action not in KNOWN_ACTIONS:
        return ItemError("invalid", "action", f"unknown action {action!r}")
    key = person_key(item.get("identifiers"))
    if isinstance(key, ItemError):
        return key
    attributes = item.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        return ItemError("invalid", "attributes", "attributes must be an object")
    error = event_fields(item.get("name"), item.get("id"), item.get("timestamp"), action in NAMED_ACTIONS)
    if error:
        return error
    return Operation(action, key, item["identifiers"], attributes or {}, item.get("name"), item.get("id"),
                     item.get("timestamp"))
