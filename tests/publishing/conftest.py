"""Helpers for the card store tests: a store directory and direct looks into its tables."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import orjson
import pytest

from publishing.card_store import database_path
from publishing.sample_documents import member_document

# The tiny warehouse: brand 1 has users 1-10, brand 2 users 11-15.
MEMBERS = [(1, user_id) for user_id in range(1, 11)] + [(2, user_id) for user_id in range(11, 16)]


@pytest.fixture
def cards_root(tmp_path: Path) -> Path:
    return tmp_path / "cards"


def count(root: Path, sql: str, params: tuple = ()) -> int | str:
    """One value from the store, read with a plain connection (not the code under test)."""
    with closing(sqlite3.connect(database_path(root))) as con:
        return con.execute(sql, params).fetchone()[0]


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))  # where DataPaths(tmp_path) looks
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.member_card_documents "
                "(brand_id INTEGER, user_id INTEGER, profile_id VARCHAR, document JSON)")
    con.execute("CREATE SCHEMA staging")
    con.execute("CREATE TABLE staging.stg_app__erasure_requests "
                "(brand_id INTEGER, user_id INTEGER, requested_at TIMESTAMP)")
    load_mart(con, MEMBERS, revision=0)
    yield con
    con.close()


def load_mart(con: duckdb.DuckDBPyConnection, members, *, revision: int) -> None:
    con.execute("DELETE FROM marts.member_card_documents")
    rows = []
    for brand_id, user_id in members:
        document = member_document(brand_id, user_id, revision=revision)
        rows.append((brand_id, user_id, document["profile_id"], orjson.dumps(document).decode()))
    con.executemany("INSERT INTO marts.member_card_documents VALUES (?, ?, ?, ?)", rows)
