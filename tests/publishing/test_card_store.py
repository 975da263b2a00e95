"""The snapshot store: versions, change detection, erasure and garbage collection on a real SQLite file."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from publishing.card_store import CardStoreReader, CardStoreWriter, database_path
from publishing.sample_documents import member_document, member_documents
from tests.publishing.conftest import count

MEMBERS = 40
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def publish(root: Path, documents, **kwargs):
    with CardStoreWriter(root) as writer:
        return writer.publish(documents, **kwargs)


def test_nothing_published_reads_as_empty(cards_root: Path):
    reader = CardStoreReader(cards_root)
    assert reader.get(1, 1) is None
    assert reader.current_version() is None
    CardStoreWriter(cards_root).close()  # schema exists, no version yet
    assert reader.get(1, 1) is None
    assert reader.current_version() is None
    reader.close()


def test_first_publish_serves_every_document(cards_root: Path):
    documents = list(member_documents(MEMBERS))
    result = publish(cards_root, documents, published_at=T0)
    assert (result.version, result.members, result.changed, result.removed) == (1, MEMBERS, MEMBERS, 0)
    assert result.bytes_written == count(cards_root, "SELECT SUM(length(body_gzip)) FROM documents")
    reader = CardStoreReader(cards_root)
    assert reader.current_version() == 1
    for brand_id, user_id, body in documents:
        stored = reader.get(brand_id, user_id)
        assert stored.version == 1
        assert stored.body() == body
        assert stored.digest == hashlib.sha256(body).hexdigest()
        assert stored.size == len(body)
    assert reader.get(99, 1) is None
    reader.close()


def test_second_publish_rewrites_only_changed_members(cards_root: Path):
    first = list(member_documents(MEMBERS))
    publish(cards_root, first)
    second = list(member_documents(MEMBERS, generated_at="2026-11-21T06:00:00Z"))
    changed_members = {(b, u) for b, u, _ in second[:3]}
    second[:3] = [(b, u, orjson.dumps(member_document(b, u, revision=1))) for b, u, _ in second[:3]]
    removed_brand, removed_user, _ = second.pop()

    result = publish(cards_root, second)

    assert (result.version, result.members, result.changed, result.removed) == (2, MEMBERS - 1, 3, 1)
    assert count(cards_root, "SELECT COUNT(*) FROM documents") == MEMBERS + 3
    assert count(cards_root, "SELECT COUNT(*) FROM entries") == MEMBERS + 3
    assert count(cards_root, "SELECT COUNT(*) FROM entries WHERE from_version = 2") == 3
    assert count(cards_root, "SELECT COUNT(*) FROM entries WHERE to_version = 2") == 4
    reader = CardStoreReader(cards_root)
    assert reader.get(removed_brand, removed_user) is None
    old_bodies = {(b, u): body for b, u, body in first}
    for brand_id, user_id, body in second:
        stored = reader.get(brand_id, user_id)
        assert stored.version == 2
        # unchanged members keep their stored bytes, older generated_at included
        assert stored.body() == (body if (brand_id, user_id) in changed_members else old_bodies[brand_id, user_id])
    reader.close()


def test_changing_only_generated_at_changes_nothing(cards_root: Path):
    publish(cards_root, member_documents(MEMBERS))
    result = publish(cards_root, member_documents(MEMBERS, generated_at="2026-12-01T00:00:00Z"))
    assert (result.changed, result.removed, result.bytes_written) == (0, 0, 0)
    assert count(cards_root, "SELECT COUNT(*) FROM entries") == MEMBERS
    reader = CardStoreReader(cards_root)
    assert orjson.loads(reader.get(2, 1).body())["generated_at"] == "2026-11-20T06:00:00Z"
    assert reader.current_version() == 2
    reader.close()


def test_a_member_twice_in_one_set_fails_and_keeps_the_previous_version(cards_root: Path):
    publish(cards_root, member_documents(MEMBERS))
    documents = list(member_documents(MEMBERS, revision=1))
    with pytest.raises(ValueError, match="twice"):
        publish(cards_root, documents + documents[:1])
    reader = CardStoreReader(cards_root)
    assert reader.current_version() == 1
    assert count(cards_root, "SELECT COUNT(*) FROM documents") == MEMBERS
    reader.close()


def test_erasure_purges_every_version(cards_root: Path):
    publish(cards_root, member_documents(MEMBERS))
    publish(cards_root, member_documents(MEMBERS, revision=1))  # every member now has two versions
    erased = [(2, 1), (3, 2)]
    erased_digests = _digests_of(cards_root, erased)
    assert len(erased_digests) == 4

    result = publish(cards_root, member_documents(MEMBERS, revision=1), erased=erased)

    assert result.erased == 2
    assert result.members == MEMBERS - 2  # also left out of the new set
    for brand_id, user_id in erased:
        assert count(cards_root, "SELECT COUNT(*) FROM entries WHERE brand_id = ? AND user_id = ?",
                     (brand_id, user_id)) == 0
    for digest in erased_digests:
        assert count(cards_root, "SELECT COUNT(*) FROM documents WHERE digest = ?", (digest,)) == 0
    reader = CardStoreReader(cards_root)
    assert reader.get(2, 1) is None
    assert reader.get(1, 3) is not None
    reader.close()
    # erasing again is harmless
    assert publish(cards_root, member_documents(MEMBERS, revision=1), erased=erased).erased == 0


def test_erased_documents_leave_no_bytes_in_the_store_files(cards_root: Path):
    publish(cards_root, member_documents(MEMBERS))
    erased = [(2, 1), (3, 2)]
    with closing(sqlite3.connect(database_path(cards_root))) as con:
        bodies = [row[0] for member in erased for row in con.execute(
            "SELECT d.body_gzip FROM documents AS d JOIN entries AS e USING (digest)"
            " WHERE e.brand_id = ? AND e.user_id = ?", member)]
    assert len(bodies) == 2 and all(len(body) > 200 for body in bodies)

    publish(cards_root, member_documents(MEMBERS), erased=erased)

    files = [p for p in cards_root.iterdir() if p.name.startswith(database_path(cards_root).name)]
    content = b"".join(p.read_bytes() for p in files)
    for body in bodies:  # a deleted row's bytes stay in free pages unless they are overwritten
        assert body[-64:] not in content


def _digests_of(root: Path, members: list[tuple[int, int]]) -> list[str]:
    with closing(sqlite3.connect(database_path(root))) as con:
        return [row[0] for member in members
                for row in con.execute("SELECT digest FROM entries WHERE brand_id = ? AND user_id = ?", member)]


def test_garbage_collection_keeps_the_retention_period(cards_root: Path):
    with CardStoreWriter(cards_root) as writer:
        for revision in range(4):  # versions 1..4, one hour apart, every member changed each time
            writer.publish(member_documents(MEMBERS, revision=revision), published_at=T0 + timedelta(hours=revision))
        now = T0 + timedelta(hours=3, minutes=30)

        kept_by_age = writer.collect_garbage(timedelta(hours=3), keep_versions=1, now=now)
        assert kept_by_age.oldest_retained_version == 2  # published 2.5 h before now; version 1 3.5 h
        assert (kept_by_age.versions_dropped, kept_by_age.entries_deleted, kept_by_age.documents_deleted) == (
            1, MEMBERS, MEMBERS)
        assert count(cards_root, "SELECT MIN(version) FROM versions") == 2

        kept_by_number = writer.collect_garbage(timedelta(0), now=now)  # default: current and previous
        assert kept_by_number.oldest_retained_version == 3
        assert count(cards_root, "SELECT COUNT(*) FROM documents") == 2 * MEMBERS
        assert count(cards_root, "SELECT COUNT(*) FROM entries WHERE to_version IS NULL") == MEMBERS

    reader = CardStoreReader(cards_root)
    stored = reader.get(2, 1)
    assert stored.version == 4
    assert orjson.loads(stored.body()) == member_document(2, 1, revision=3)
    reader.close()


def test_a_document_shared_with_a_retained_version_survives_collection(cards_root: Path):
    with CardStoreWriter(cards_root) as writer:
        writer.publish(member_documents(MEMBERS, revision=0), published_at=T0)
        writer.publish(member_documents(MEMBERS, revision=1), published_at=T0 + timedelta(hours=1))
        writer.publish(member_documents(MEMBERS, revision=0), published_at=T0 + timedelta(hours=2))  # back
        writer.collect_garbage(timedelta(0), keep_versions=1, now=T0 + timedelta(hours=3))
    reader = CardStoreReader(cards_root)
    assert orjson.loads(reader.get(2, 1).body()) == member_document(2, 1, revision=0)
    reader.close()


def test_a_publish_validates_exactly_the_documents_it_stores(cards_root: Path):
    from publishing.validation import BackgroundValidator, InvalidDocumentsError

    first = list(member_documents(MEMBERS))
    with BackgroundValidator() as validator:
        publish(cards_root, first, validator=validator)
        assert validator.finish() == MEMBERS
    second = list(member_documents(MEMBERS, generated_at="2026-11-21T06:00:00Z"))
    second[:3] = [(b, u, orjson.dumps(member_document(b, u, revision=1))) for b, u, _ in second[:3]]
    with BackgroundValidator() as validator:
        publish(cards_root, second, validator=validator)
        assert validator.finish() == 3  # the unchanged 37 keep bytes validated when they were stored
    # A changed document that is invalid aborts the publish; the previous version keeps serving.
    third = list(second)
    third[5] = (third[5][0], third[5][1], orjson.dumps({**orjson.loads(third[5][2]), "cards": "none"}))
    with BackgroundValidator() as validator, pytest.raises(InvalidDocumentsError):
        publish(cards_root, third, validator=validator)
    with closing(CardStoreReader(cards_root)) as reader:
        assert reader.current_version() == 2


def test_a_store_from_before_loses_its_index_of_entry_digests_and_collects_as_before(cards_root: Path):
    """Stores made before kept an index on entries.digest; garbage collection no longer needs it."""
    documents = list(member_documents(MEMBERS))
    publish(cards_root, documents, published_at=T0)
    with closing(sqlite3.connect(database_path(cards_root))) as store:
        store.execute("CREATE INDEX entries_by_digest ON entries (digest)")
        store.commit()
    changed = [(b, u, orjson.dumps(member_document(b, u, revision=1))) for b, u, _ in documents[:5]]
    publish(cards_root, changed + documents[5:], published_at=T0 + timedelta(hours=1))
    assert count(cards_root, "SELECT count(*) FROM sqlite_master WHERE name = 'entries_by_digest'") == 0
    with CardStoreWriter(cards_root) as writer:
        collected = writer.collect_garbage(timedelta(hours=0), keep_versions=1, now=T0 + timedelta(hours=2))
    assert (collected.entries_deleted, collected.documents_deleted) == (5, 5)
    assert count(cards_root, "SELECT count(*) FROM documents") == MEMBERS
