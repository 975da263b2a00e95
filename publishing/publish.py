"""Publish the card documents of the warehouse mart as the next snapshot version, then collect garbage."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from publishing.card_store import CardStoreWriter, PublishResult
from publishing.validation import BackgroundValidator

log = logging.getLogger(__name__)

# No ORDER BY: sorting makes DuckDB materialize every document (~3.4 GB at a million members), and
# nothing needs the order (changes are matched by member key); a plain scan streams in batches.
DOCUMENTS_SQL = "SELECT brand_id, user_id, document FROM marts.member_card_documents"
ERASED_SQL = "SELECT DISTINCT brand_id, user_id FROM staging.stg_app__erasure_requests ORDER BY brand_id, user_id"
FETCH_ROWS = 10_000


def publish_from_warehouse(con: duckdb.DuckDBPyConnection, cards_root: Path, *, retention: timedelta,
                           erased: Iterable[tuple[int, int]] | None = None, keep_versions: int = 2,
                           published_at: datetime | None = None) -> PublishResult:
    """Publish every member's document, validating each one the publish stores; erased members (by default every erasure request
    in the warehouse) lose all their stored versions. An invalid document fails the publish and the
    previous version keeps serving."""
    if erased is None:
        erased = [(int(brand_id), int(user_id)) for brand_id, user_id in con.execute(ERASED_SQL).fetchall()]
    with CardStoreWriter(cards_root) as writer, BackgroundValidator() as validator:
        result = writer.publish(_mart_documents(con), erased=erased, published_at=published_at, validator=validator)
        log.info("published card snapshot %s", result)
        collected = writer.collect_garbage(retention, keep_versions)
        log.info("card store garbage collection %s", collected)
    return result


def _mart_documents(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[int, int, bytes]]:
    """Stream the mart a batch of rows at a time (never the whole mart in memory)."""
    cursor = con.cursor()  # its own result set: the caller's connection stays usable
    try:
        cursor.execute(DOCUMENTS_SQL)
        while rows := cursor.fetchmany(FETCH_ROWS):
            for brand_id, user_id, document in rows:
                yield int(brand_id), int(user_id), document.encode() if isinstance(document, str) else document
    finally:
        cursor.close()
