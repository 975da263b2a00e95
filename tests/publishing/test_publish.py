"""publish_from_warehouse against a tiny real DuckDB warehouse."""

from __future__ import annotations

import gzip
import hashlib
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import duckdb
import orjson
import pytest

from publishing.card_store import CardStoreReader, database_path
from publishing.publish import publish_from_warehouse
from publishing.sample_documents import GENERATED_AT, member_document
from publishing.validation import InvalidDocumentsError
from tests.publishing.conftest import MEMBERS, count, load_mart

RETENTION = timedelta(hours=72)


def test_publishes_the_mart(warehouse: duckdb.DuckDBPyConnection, cards_root: Path):
    result = publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    assert (result.version, result.members, result.changed) == (1, len(MEMBERS), len(MEMBERS))
    reader = CardStoreReader(cards_root)
    assert orjson.loads(reader.get(2, 12).body()) == member_document(2, 12)
    reader.close()


def test_an_invalid_document_aborts_and_the_previous_version_keeps_serving(
        warehouse: duckdb.DuckDBPyConnection, cards_root: Path):
    publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    load_mart(warehouse, MEMBERS, revision=1)
    warehouse.execute("UPDATE marts.member_card_documents SET document = json_object('schema_version', '1.0') "
                      "WHERE user_id IN (4, 12)")
    with pytest.raises(InvalidDocumentsError) as raised:
        publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    assert sorted((o.brand_id, o.user_id) for o in raised.value.offenders) == [(1, 4), (2, 12)]
    assert "brand 1 user 4" in str(raised.value)
    reader = CardStoreReader(cards_root)
    assert reader.current_version() == 1
    assert orjson.loads(reader.get(1, 5).body()) == member_document(1, 5, revision=0)
    reader.close()
    assert count(cards_root, "SELECT COUNT(*) FROM documents") == len(MEMBERS)


def test_erasure_requests_in_the_warehouse_purge_the_member(warehouse: duckdb.DuckDBPyConnection, cards_root: Path):
    publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    load_mart(warehouse, MEMBERS, revision=1)
    publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    warehouse.execute("INSERT INTO staging.stg_app__erasure_requests VALUES (1, 3, now())")
    load_mart(warehouse, [member for member in MEMBERS if member != (1, 3)], revision=1)  # the mart drops them

    result = publish_from_warehouse(warehouse, cards_root, retention=RETENTION)

    assert (result.erased, result.removed) == (1, 0)
    assert count(cards_root, "SELECT COUNT(*) FROM entries WHERE user_id = 3") == 0
    reader = CardStoreReader(cards_root)
    assert reader.get(1, 3) is None
    reader.close()


def test_a_rebuild_keeps_unchanged_etags_and_bytes_and_serves_changed_documents_as_the_mart_holds_them(
        warehouse: duckdb.DuckDBPyConnection, cards_root: Path):
    publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    before = _stored(cards_root)
    # The rebuild moves every generated_at; two members change, one of them to text beyond ASCII.
    warehouse.execute(f"""UPDATE marts.member_card_documents
        SET document = replace(document::VARCHAR, '{GENERATED_AT}', '2026-11-21T06:00:00Z')::JSON""")
    warehouse.execute("""UPDATE marts.member_card_documents
        SET document = replace(document::VARCHAR, '"title":"', '"title":"Crème brûlée ✓ ')::JSON
        WHERE (brand_id, user_id) IN ((1, 4), (2, 12))""")

    result = publish_from_warehouse(warehouse, cards_root, retention=RETENTION)

    assert (result.version, result.changed) == (2, 2)
    after = _stored(cards_root)
    mart = {(b, u): text.encode() for b, u, text in warehouse.execute(
        "SELECT brand_id, user_id, document::VARCHAR FROM marts.member_card_documents").fetchall()}
    for member, (digest, body_gzip) in after.items():
        if member in {(1, 4), (2, 12)}:
            assert "Crème brûlée ✓".encode() in mart[member]
            assert gzip.decompress(body_gzip) == mart[member]
            assert digest == hashlib.sha256(mart[member]).hexdigest() != before[member][0]
        else:  # not rewritten: the same ETag and the very same stored bytes
            assert (digest, body_gzip) == before[member]
    reader = CardStoreReader(cards_root)
    assert reader.get(2, 12).digest == after[2, 12][0]
    reader.close()


def test_publishing_leaves_the_warehouse_connection_settings_as_they_were(
        warehouse: duckdb.DuckDBPyConnection, cards_root: Path):
    # The publish plans its diff with an optimizer switched off; the connection belongs to the caller.
    warehouse.execute("SET disabled_optimizers = 'top_n'")
    publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    assert warehouse.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0] == "top_n"
    load_mart(warehouse, MEMBERS, revision=1)
    warehouse.execute("UPDATE marts.member_card_documents SET document = json_object('schema_version', '1.0') "
                      "WHERE user_id = 4")
    with pytest.raises(InvalidDocumentsError):
        publish_from_warehouse(warehouse, cards_root, retention=RETENTION)
    assert warehouse.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0] == "top_n"


def _stored(cards_root: Path) -> dict[tuple[int, int], tuple[str, bytes]]:
    """(digest, gzipped body) of each member's current document, read with a plain connection."""
    with closing(sqlite3.connect(database_path(cards_root))) as con:
        return {(b, u): (digest, body) for b, u, digest, body in con.execute(
            "SELECT e.brand_id, e.user_id, d.digest, d.body_gzip FROM entries AS e JOIN documents AS d USING (digest) "
            "WHERE e.to_version IS NULL")}
