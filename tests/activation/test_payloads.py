"""Items inside Customer.io's limits: deterministic ids, truncation with warnings, packing."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from ulid import ULID

from activation import payloads
from activation.batching import batch_body, pack
from activation.event_ids import event_ulid
from activation.limits import (
    ATTRIBUTE_VALUE_MAX_BYTES,
    BATCH_MAX_BYTES,
    ITEM_MAX_BYTES,
    MAX_ATTRIBUTES,
)

WHEN = datetime(2026, 11, 20, 18, 35, 12, 345000, tzinfo=UTC)


def test_event_ids_are_valid_ulids_stable_per_source_event_and_time_ordered():
    first = event_ulid(1, "app:evt-1", WHEN)
    assert first == event_ulid(1, "app:evt-1", WHEN)
    assert str(ULID.from_str(first)) == first
    assert ULID.from_str(first).datetime == WHEN.replace(microsecond=345000)
    assert event_ulid(2, "app:evt-1", WHEN) != first  # event ids are unique per brand only
    assert event_ulid(1, "app:evt-2", WHEN) != first
    assert event_ulid(1, "app:evt-0", datetime(2026, 11, 21, tzinfo=UTC)) > first


def test_event_item_has_the_v2_shape_and_the_fast_path_matches_the_encoded_one():
    data = {"product_snapshot": {"identity": {"product_id": 45, "sku": "BD-VAPE-1G"}}, "user_snapshot": {}}
    spliced = payloads.event_from_json("user-123", "01J0000000000000000000000", "product_scanned", WHEN,
                                       orjson.dumps(data))
    encoded = payloads.event("user-123", "01J0000000000000000000000", "product_scanned", WHEN, data)
    assert orjson.loads(spliced.body) == orjson.loads(encoded.body) == {
        "type": "person", "identifiers": {"id": "user-123"}, "action": "event", "id": "01J0000000000000000000000",
        "name": "product_scanned", "timestamp": int(WHEN.timestamp()), "attributes": data}
    assert spliced.warnings == ()


def test_oversize_attribute_values_are_truncated_or_dropped_with_warnings():
    attrs = {"bio": "é" * 800, "ok": 1, "blob": {"k": "x" * 2000}}
    item = payloads.identify("user-1", attrs)
    sent = orjson.loads(item.body)["attributes"]
    assert len(sent["bio"].encode()) <= ATTRIBUTE_VALUE_MAX_BYTES and sent["bio"].startswith("éé")
    assert sent["ok"] == 1 and "blob" not in sent
    assert {w.field for w in item.warnings} == {"attributes.bio", "attributes.blob"}


def test_attributes_over_the_count_limit_are_dropped_with_a_warning():
    item = payloads.identify("user-1", {f"a{i:03d}": i for i in range(MAX_ATTRIBUTES + 5)})
    assert len(orjson.loads(item.body)["attributes"]) == MAX_ATTRIBUTES
    assert [w.field for w in item.warnings] == ["attributes"]


def test_an_oversize_event_is_truncated_to_fit_and_says_so():
    data = {"notes": "n" * 60_000, "title": "short"}
    item = payloads.event_from_json("user-1", "01J0000000000000000000000", "x", WHEN, orjson.dumps(data))
    assert len(item.body) <= ITEM_MAX_BYTES
    sent = orjson.loads(item.body)["attributes"]
    assert sent["title"] == "short" and sent["notes"].startswith("nnn")
    assert item.warnings and item.warnings[0].field == "attributes.notes"


def test_what_cannot_fit_is_unsendable_with_a_reason():
    with pytest.raises(payloads.Unsendable) as too_long:
        payloads.person_action("u" * 151, "suppress")
    assert too_long.value.reason == "id_too_long"
    with pytest.raises(payloads.Unsendable) as structural:
        payloads.event("user-1", "01J0000000000000000000000", "x", WHEN, {f"k{i}": i for i in range(5000)})
    assert structural.value.reason == "item_too_large"


def test_packing_keeps_order_and_every_body_under_the_limit():
    items = [(i, orjson.dumps({"i": i, "pad": "p" * (i % 3000)})) for i in range(2000)]
    batches = list(pack(items, max_body_bytes=50_000))
    assert [k for batch in batches for k, _ in batch] == list(range(2000))
    assert all(len(batch_body(b for _, b in batch)) < 50_000 for batch in batches)
    assert orjson.loads(batch_body(b for _, b in batches[0]))["batch"][0] == {"i": 0, "pad": ""}
    assert len(batch_body(b for _, b in batches[0])) + len(batches[1][0][1]) + 1 >= 50_000  # greedy: nearly full
    assert list(pack([(0, b"x" * ITEM_MAX_BYTES)])) and BATCH_MAX_BYTES > ITEM_MAX_BYTES
