"""Track API v2 batch: auth, request-level 400s, per-item 207s, dedup and person state."""

from __future__ import annotations

import httpx
import orjson

from fake_customerio.validation import MAX_BATCH_BYTES, MAX_ITEM_BYTES
from tests.fake_customerio.conftest import (
    OTHER_SITE,
    SITE,
    ULID_1,
    ULID_2,
    event,
    identify,
)


def test_all_valid_items_answer_200_and_are_applied(fake, track):
    response = track.post("/api/v2/batch", json={"batch": [identify("u1", plan="gold"), event("u1")]})
    assert (response.status_code, response.json()) == (200, {})
    assert fake.people(SITE.site_id)["id:u1"]["attributes"] == {"plan": "gold"}
    assert fake.events(SITE.site_id)[ULID_1]["name"] == "purchase"


def test_bad_or_missing_auth_is_401_and_nothing_is_applied(fake):
    for auth in ((SITE.site_id, "wrong"), (OTHER_SITE.site_id, SITE.api_key), None):
        response = httpx.post(fake.base_url + "/api/v2/batch", json={"batch": [identify("u1")]}, auth=auth)
        assert response.status_code == 401
    assert fake.people(SITE.site_id) == {} == fake.people(OTHER_SITE.site_id)


def test_malformed_or_batchless_requests_are_rejected_whole(fake, track):
    for body in (b"{not json", b"[]", b'{"batch": {}}', b'{"items": []}'):
        response = track.post("/api/v2/batch", content=body)
        assert response.status_code == 400, body
        assert "error" in response.json()["meta"]
    assert fake.requests()["/api/v2/batch", "400"] == 4


def test_a_body_of_500kb_or_more_is_rejected_whole(fake, track):
    big = [identify(f"u{i}", note="x" * 1000) for i in range(600)]
    body = orjson.dumps({"batch": big})
    assert len(body) >= MAX_BATCH_BYTES
    assert track.post("/api/v2/batch", content=body).status_code == 400
    assert fake.people(SITE.site_id) == {}


def test_invalid_items_are_listed_in_a_207_and_the_rest_applied(fake, track):
    items = [
        identify("ok-1"),
        {"type": "person", "identifiers": {"id": "a", "email": "a@x.io"}, "action": "identify"},  # two identifiers
        {"type": "person", "identifiers": {}, "action": "identify"},  # none
        {"type": "person", "identifiers": {"id": "a"}, "action": "teleport"},  # unknown action
        event("a", name=""),  # event without a name
        event("a", event_id="not-a-ulid"),
        event("a", event_id="81JD2N4Z5K8Q9R0S1T2V3W4X5Y"),  # first character beyond 7: over 128 bits
        identify("big", blob="x" * MAX_ITEM_BYTES),  # item over 32 KB
        {"type": "object", "identifiers": {"id": "a"}, "action": "identify"},
        "not an object",
        event("ok-2", event_id=ULID_2),
    ]
    response = track.post("/api/v2/batch", json={"batch": items})
    assert response.status_code == 207
    errors = response.json()["errors"]
    assert [e["batch_index"] for e in errors] == list(range(1, 10))
    assert {e["field"] for e in errors} >= {"identifiers", "action", "name", "id", "type"}
    assert all(e["reason"] and e["message"] for e in errors)
    assert set(fake.people(SITE.site_id)) == {"id:ok-1"}
    assert set(fake.events(SITE.site_id)) == {ULID_2}
    dead = fake.dead_items()
    assert [d["batch_index"] for d in dead] == list(range(1, 10))
    assert dead[0]["item"] == items[1] and dead[0]["site_id"] == SITE.site_id


def test_a_resent_event_id_is_acknowledged_but_delivered_once(fake, track):
    for _ in range(3):
        assert track.post("/api/v2/batch", json={"batch": [event("u1", event_id=ULID_1)]}).status_code == 200
    track.post("/api/v2/batch", json={"batch": [event("u1", event_id=ULID_2), event("u1", event_id=None)]})
    assert fake.receipts(SITE.site_id) == {ULID_1: 3, ULID_2: 1}
    assert fake.delivered(SITE.site_id) == {ULID_1: 1, ULID_2: 1}
    assert len(fake.events(SITE.site_id)) == 3  # the id-less event is delivered, with no dedup


def test_dedup_is_per_workspace(fake, track):
    track.post("/api/v2/batch", json={"batch": [event("u1")]})
    httpx.post(fake.base_url + "/api/v2/batch", json={"batch": [event("u1")]},
               auth=(OTHER_SITE.site_id, OTHER_SITE.api_key))
    assert fake.delivered(SITE.site_id) == {ULID_1: 1} == fake.delivered(OTHER_SITE.site_id)


def test_identify_merges_delete_removes_suppress_blocks(fake, track):
    def person_action(action: str, person_id: str) -> dict:
        return {"type": "person", "identifiers": {"id": person_id}, "action": action}

    track.post("/api/v2/batch", json={"batch": [identify("u1", a=1, b=1), identify("u1", b=2, c=3),
                                                 identify("u2"), identify("u3")]})
    assert fake.people(SITE.site_id)["id:u1"]["attributes"] == {"a": 1, "b": 2, "c": 3}
    track.post("/api/v2/batch", json={"batch": [person_action("delete", "u2"), person_action("suppress", "u3")]})
    track.post("/api/v2/batch", json={"batch": [identify("u3", back=True)]})  # a suppressed person stays out
    assert set(fake.people(SITE.site_id)) == {"id:u1"}
    assert set(fake.deleted(SITE.site_id)) == {"id:u2"}
    assert set(fake.suppressed(SITE.site_id)) == {"id:u3"}
    track.post("/api/v2/batch", json={"batch": [person_action("unsuppress", "u3"), identify("u3", back=True)]})
    assert fake.people(SITE.site_id)["id:u3"]["attributes"] == {"back": True}
    assert fake.actions(SITE.site_id)["identify"] == 6


def test_reset_forgets_everything(fake, track):
    track.post("/api/v2/batch", json={"batch": [identify("u1"), event("u1")]})
    fake.reset()
    assert fake.people(SITE.site_id) == {} == fake.events(SITE.site_id)
    assert fake.requests() == {}
