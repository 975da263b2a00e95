"""Erasure's scrub of the dry-run outbox: bodies are searched for the people's ids before any is parsed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from activation import outbox as outbox_module
from activation.outbox import Outbox

# Ids JSON writes one way, and ids it may escape (a slash, a quote, a backslash, non-ASCII): the search is only
# trusted for the first kind, the rest make every body parsed.
ERASED_IDS = ["user-7", "user/7", 'user-"7"', "user\\7", "usér-7"]


def person(person_id: str, action: str = "identify", **more) -> dict:
    return {"type": "person", "identifiers": {"id": person_id}, "action": action, **more}


def write_bodies(outbox: Outbox, erased: str) -> list[bytes]:
    bodies = [
        [person("user-1"), person(erased, attributes={"x": 1}), person("user-2")],
        [person(erased, "event", name="scan"), person(erased, "suppress")],  # the erasure's own request stays
        [person("user-3"), person("user-70"), person("user-77", attributes={"note": "user-7 mentioned"})],
        [person(erased, "event", name="a")],
    ]
    written = []
    for seq, batch in enumerate(bodies):
        written.append(orjson.dumps({"batch": batch}))
        outbox.write(1, seq * 10, seq * 10 + 9, written[-1])
    return written


@pytest.mark.parametrize("erased", ERASED_IDS)
@pytest.mark.parametrize("many", [False, True], ids=["few people", "more people than are searched"])
def test_scrub_removes_exactly_the_erased_persons_items(tmp_path: Path, erased: str, many: bool):
    outbox = Outbox(tmp_path / "outbox")
    written = write_bodies(outbox, erased)
    people = {erased} | ({f"other-{n}" for n in range(outbox_module.MAX_SEARCHED_PEOPLE + 1)} if many else set())
    assert outbox.scrub(1, people) == 3
    left = {path.name: orjson.loads(path.read_bytes())["batch"] for path in outbox.bodies(1)}
    assert left == {
        "batch-000000000000-000000000009.json": [person("user-1"), person("user-2")],
        "batch-000000000010-000000000019.json": [person(erased, "suppress")],
        "batch-000000000020-000000000029.json": orjson.loads(written[2])["batch"],
    }  # the last body held only the erased person's event: it is gone
    assert outbox.bodies(1)[2].read_bytes() == written[2]  # a body naming no erased person is not rewritten
    assert outbox.scrub(1, people) == 0  # idempotent


def test_search_is_used_only_where_it_is_exact():
    assert outbox_module.mentions(["user-7", "user-70"]).search(b'{"id":"user-70"}')
    assert not outbox_module.mentions(["user-7"]).search(b'{"id":"user-70"}')
    for unsearchable in ERASED_IDS[1:]:
        assert outbox_module.mentions(["user-7", unsearchable]) is None
    assert outbox_module.mentions(f"user-{n}" for n in range(outbox_module.MAX_SEARCHED_PEOPLE + 1)) is None
