"""publish_from_warehouse against a tiny real DuckDB warehouse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import orjson
import pytest

from publishing.card_store import CardStoreReader
from publishing.publish import publish_from_warehouse
from publishing.sample_documents import member_document
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
