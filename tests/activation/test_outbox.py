"""The dry-run outbox: erasure's scrub searches bodies for the people's ids before any is parsed; a retention deletes
old bodies."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import orjson
import pytest

from activation import outbox as outbox_module
from activation.outbox import Outbox

# Ids the bodies' writers write one way (one with a regex's special characters), and ids they may escape (a slash, a
# quote, a backslash, non-ASCII): the search is only trusted for the first kind, the rest make every body parsed.
ERASED_IDS = ["user-7", "user+7.*", "user/7", 'user-"7"', "user\\7", "usér-7"]
UNSEARCHABLE_IDS = ERASED_IDS[2:]


def person(person_id: str, action: str = "identify", **more) -> dict:
    return {"type": "person", "identifiers": {"id": person_id}, "action": action, **more}


def sql_item(person_id: str) -> bytes:
    """An identify as the queue builds it in SQL (activation/enqueue.py), with DuckDB's JSON."""
    return duckdb.execute("""SELECT '{"type":"person","identifiers":{"id":' || to_json(?::VARCHAR)
                             || '},"action":"identify","attributes":{}}'""", [person_id]).fetchone()[0].encode()


def write_bodies(outbox: Outbox, erased: str) -> list[bytes]:
    bodies = [
        orjson.dumps({"batch": [person("user-1"), person(erased, attributes={"x": 1}), person("user-2")]}),
        # the erasure's own request stays
        orjson.dumps({"batch": [person(erased, "event", name="scan"), person(erased, "suppress")]}),
        orjson.dumps({"batch": [person("user-3"), person("user-70"), person("user-77", attributes={"note": "user-7 x"}),
                                person("user+7", attributes={"pattern": "user+7."})]}),
        b'{"batch":[' + sql_item(erased) + b']}',
    ]
    for seq, body in enumerate(bodies):
        outbox.write(1, seq * 10, seq * 10 + 9, body)
    return bodies


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


def test_only_the_bodies_naming_an_erased_person_are_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    outbox = Outbox(tmp_path / "outbox")
    write_bodies(outbox, "user-7")
    parsed, real_loads = [], orjson.loads

    def loads(body: bytes):
        parsed.append(body)
        return real_loads(body)

    monkeypatch.setattr(outbox_module.orjson, "loads", loads)
    assert outbox.scrub(1, {"user-7"}) == 3
    assert len(parsed) == 3  # the body of user-3, user-70, user-77 and user+7 was not
    parsed.clear()
    assert outbox.scrub(1, {"user-7", "user/8"}) == 0 and len(parsed) == 3  # an unsearchable id: every body


def test_search_is_used_only_where_it_is_exact():
    assert outbox_module.mentions(["user-7", "user-70"]).search(b'{"id":"user-70"}')
    assert not outbox_module.mentions(["user-7"]).search(b'{"id":"user-70"}')
    for unsearchable in UNSEARCHABLE_IDS:
        assert outbox_module.mentions(["user-7", unsearchable]) is None
    assert outbox_module.mentions(f"user-{n}" for n in range(outbox_module.MAX_SEARCHED_PEOPLE + 1)) is None


def test_prune_deletes_only_the_bodies_older_than_the_retention(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox", retention=timedelta(days=14))
    now = time.time()
    ages = {0: 15, 10: 14.01, 20: 13.99, 30: 0}  # first seq -> days since written
    for seq, days in ages.items():
        path = outbox.write(1, seq, seq + 9, b'{"batch":[]}')
        os.utime(path, (now - (15 - days) * 86_400, now - days * 86_400))  # read at other times: mtime is the age
    other = outbox.write(2, 0, 9, b'{"batch":[]}')
    os.utime(other, (now - 30 * 86_400, now - 30 * 86_400))

    assert outbox.prune(1, now) == 2
    assert [p.name for p in outbox.bodies(1)] == ["batch-000000000020-000000000029.json",
                                                  "batch-000000000030-000000000039.json"]
    assert outbox.bodies(2) == [other]  # another brand's bodies wait for their own prune
    assert outbox.prune(1, now) == 0
    (outbox.root / "brand=notes").mkdir()  # not the outbox's: left alone
    assert outbox.brands() == [1, 2]


def test_without_a_retention_every_body_is_kept(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox")
    path = outbox.write(1, 0, 9, b'{"batch":[]}')
    os.utime(path, (0, 0))
    assert outbox.prune(1) == 0 and outbox.bodies(1) == [path]
    with pytest.raises(ValueError, match="negative"):
        Outbox(tmp_path / "outbox", retention=timedelta(days=-1))
