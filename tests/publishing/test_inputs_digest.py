"""Publishing a relation with inputs digests: only the documents whose inputs changed are built, and the store
serves what the relation holds. The relation here is a DuckDB view shaped like the dbt mart: it reads the session
variable the publisher sets, and counts the documents it builds."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import orjson
import pytest

from publishing.card_store import CardStoreReader, CardStoreWriter, database_path
from publishing.sample_documents import member_document
from publishing.validation import BackgroundValidator, InvalidDocumentsError
from tests.publishing.conftest import count

MEMBERS = [(1, user_id) for user_id in range(1, 21)]
VARIABLE = "card_document_members"
RELATION = "marts.documents"


class Warehouse:
    """marts.card_inputs (a member's inputs digest and document) behind the view marts.documents, which builds
    (calls `built`) only the members listed in the session variable, or all of them when it is unset."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.built: list[str] = []
        con.create_function("built", self._build, ["VARCHAR", "VARCHAR"], "VARCHAR", side_effects=True)
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.card_inputs "
                    "(brand_id BIGINT, user_id BIGINT, profile_id VARCHAR, inputs VARCHAR, document VARCHAR)")
        con.execute(f"""CREATE VIEW {RELATION} AS
            SELECT brand_id, user_id, profile_id, inputs AS inputs_digest, built(profile_id, document) AS document
            FROM marts.card_inputs
            WHERE getvariable('{VARIABLE}') IS NULL OR profile_id IN (SELECT unnest(getvariable('{VARIABLE}')))""")
        for brand_id, user_id in MEMBERS:
            self.set(brand_id, user_id, revision=0, inputs="a")

    def _build(self, profile_id: str, document: str) -> str:
        self.built.append(profile_id)
        return document

    def set(self, brand_id: int, user_id: int, *, revision: int, inputs: str) -> None:
        document = member_document(brand_id, user_id, revision=revision)
        self.con.execute("DELETE FROM marts.card_inputs WHERE brand_id = ? AND user_id = ?", [brand_id, user_id])
        self.con.execute("INSERT INTO marts.card_inputs VALUES (?, ?, ?, ?, ?)",
                         [brand_id, user_id, document["profile_id"], inputs, orjson.dumps(document).decode()])

    def profile(self, user_id: int) -> str:
        return self.con.execute("SELECT profile_id FROM marts.card_inputs WHERE user_id = ?", [user_id]).fetchone()[0]

    def publish(self, root: Path, *, definition: str = "v1", erased=(), validate: bool = False):
        self.built.clear()
        with CardStoreWriter(root) as writer:
            if not validate:
                return writer.publish_relation(self.con, RELATION, definition=definition, members_variable=VARIABLE,
                                               erased=erased)
            with BackgroundValidator() as validator:
                return writer.publish_relation(self.con, RELATION, definition=definition, members_variable=VARIABLE,
                                               erased=erased, validator=validator)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        yield Warehouse(con)


def served(root: Path, user_id: int) -> dict:
    reader = CardStoreReader(root)
    try:
        return orjson.loads(reader.get(1, user_id).body())
    finally:
        reader.close()


def test_only_the_members_whose_inputs_changed_are_built(warehouse: Warehouse, cards_root: Path):
    first = warehouse.publish(cards_root)
    assert (first.members, first.built, first.changed) == (20, 20, 20)
    assert sorted(warehouse.built) == sorted(warehouse.profile(u) for _, u in MEMBERS)

    again = warehouse.publish(cards_root)
    assert (again.version, again.built, again.changed, warehouse.built) == (2, 0, 0, [])

    # Far apart: a join on the members to build would also skip the rows outside their range of keys.
    warehouse.set(1, 3, revision=1, inputs="b")
    warehouse.set(1, 17, revision=1, inputs="b")
    third = warehouse.publish(cards_root)
    assert (third.built, third.changed) == (2, 2)
    assert sorted(warehouse.built) == sorted([warehouse.profile(3), warehouse.profile(17)])
    assert served(cards_root, 3) == member_document(1, 3, revision=1)
    assert served(cards_root, 5) == member_document(1, 5, revision=0)
    assert warehouse.con.execute(f"SELECT getvariable('{VARIABLE}')").fetchone()[0] is None


def test_new_inputs_with_the_same_document_update_the_entry_without_a_new_version_of_it(warehouse: Warehouse,
                                                                                          cards_root: Path):
    warehouse.publish(cards_root)
    warehouse.set(1, 7, revision=0, inputs="b")  # e.g. a value that rounds to the same number in the document
    result = warehouse.publish(cards_root)
    assert (result.built, result.changed) == (1, 0)
    assert count(cards_root, "SELECT count(*) FROM entries WHERE user_id = 7") == 1
    assert warehouse.publish(cards_root).built == 0  # the entry now carries the new inputs


def test_a_new_definition_builds_every_document_and_stores_only_changed_ones(warehouse: Warehouse, cards_root: Path):
    warehouse.publish(cards_root, definition="v1")
    bytes_before = count(cards_root, "SELECT sum(size) FROM documents")
    result = warehouse.publish(cards_root, definition="v2")
    assert (result.built, result.changed) == (20, 0)
    assert count(cards_root, "SELECT sum(size) FROM documents") == bytes_before
    assert warehouse.publish(cards_root, definition="v2").built == 0


def test_an_erased_member_is_never_built(warehouse: Warehouse, cards_root: Path):
    warehouse.publish(cards_root)
    warehouse.set(1, 9, revision=1, inputs="b")
    result = warehouse.publish(cards_root, erased=[(1, 9)])
    assert (result.built, result.erased, result.members) == (0, 1, 19)
    assert warehouse.profile(9) not in warehouse.built
    assert count(cards_root, "SELECT count(*) FROM entries WHERE user_id = 9") == 0


def test_nothing_to_build_builds_nothing_rather_than_everything(warehouse: Warehouse, cards_root: Path):
    """An empty list of members, not an unset variable (which means every member)."""
    warehouse.publish(cards_root)
    warehouse.built.clear()
    with CardStoreWriter(cards_root) as writer:
        result = writer.publish_relation(warehouse.con, RELATION, definition="v1", members_variable=VARIABLE)
    assert (result.built, warehouse.built) == (0, [])


def test_a_failed_publish_leaves_the_variable_unset_and_the_previous_version_serving(warehouse: Warehouse,
                                                                                       cards_root: Path):
    warehouse.publish(cards_root)
    document = member_document(1, 2, revision=1)
    document["cards"] = []  # the schema wants at least one card
    warehouse.con.execute("UPDATE marts.card_inputs SET inputs = 'b', document = ? WHERE user_id = 2",
                          [orjson.dumps(document).decode()])
    with pytest.raises(InvalidDocumentsError):
        warehouse.publish(cards_root, validate=True)
    assert warehouse.con.execute(f"SELECT getvariable('{VARIABLE}')").fetchone()[0] is None
    assert count(cards_root, "SELECT version FROM current") == 1
    assert served(cards_root, 2) == member_document(1, 2, revision=0)
    warehouse.set(1, 2, revision=1, inputs="c")
    assert warehouse.publish(cards_root, validate=True).changed == 1


def test_a_store_from_before_inputs_digests_builds_every_document_once(warehouse: Warehouse, cards_root: Path):
    with CardStoreWriter(cards_root) as writer:  # published from a relation without digests
        writer.publish([(b, u, orjson.dumps(member_document(b, u))) for b, u in MEMBERS])
    with closing(sqlite3.connect(database_path(cards_root))) as store:
        assert store.execute("SELECT count(*) FROM entries WHERE inputs_digest IS NULL").fetchone()[0] == 20
    result = warehouse.publish(cards_root)
    assert (result.built, result.changed) == (20, 0)
    assert warehouse.publish(cards_root).built == 0


def test_a_store_without_the_inputs_column_is_given_it(cards_root: Path):
    cards_root.mkdir()
    with closing(sqlite3.connect(database_path(cards_root))) as store:
        store.execute("""CREATE TABLE entries (brand_id INTEGER NOT NULL, user_id INTEGER NOT NULL, digest TEXT NOT NULL,
            from_version INTEGER NOT NULL, to_version INTEGER NULL, content_digest TEXT NOT NULL,
            PRIMARY KEY (brand_id, user_id, from_version))""")
    CardStoreWriter(cards_root).close()
    with closing(sqlite3.connect(database_path(cards_root))) as store:
        columns = [row[1] for row in store.execute("PRAGMA table_info(entries)")]
    assert columns[-1] == "inputs_digest"
