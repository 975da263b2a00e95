"""Publish the card documents of the warehouse mart as the next snapshot version, then collect garbage."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from publishing.card_store import CardStoreWriter, PublishResult
from publishing.validation import BackgroundValidator

log = logging.getLogger(__name__)

ERASED_SQL = "SELECT DISTINCT brand_id, user_id FROM staging.stg_app__erasure_requests ORDER BY brand_id, user_id"
DOCUMENTS = "marts.member_card_documents"
# The session variable through which the documents view builds only the listed members' documents
# (dbt_project/macros/card_document_members.sql).
DOCUMENT_MEMBERS_VARIABLE = "card_document_members"


def publish_from_warehouse(con: duckdb.DuckDBPyConnection, cards_root: Path, *, retention: timedelta,
                           erased: Iterable[tuple[int, int]] | None = None, keep_versions: int = 2,
                           published_at: datetime | None = None, definition: str = "") -> PublishResult:
    """Publish every member's document, validating each one the publish stores; erased members (by default every erasure request
    in the warehouse) lose all their stored versions. An invalid document fails the publish and the
    previous version keeps serving. Only the documents whose inputs changed are built; `definition` names the
    code that builds them (the dbt project's fingerprint), so a change of it builds every document once."""
    if erased is None:
        erased = [(int(brand_id), int(user_id)) for brand_id, user_id in con.execute(ERASED_SQL).fetchall()]
    with CardStoreWriter(cards_root) as writer, BackgroundValidator() as validator:
        result = writer.publish_relation(con, DOCUMENTS, erased=erased, published_at=published_at, validator=validator,
                                         definition=definition, members_variable=DOCUMENT_MEMBERS_VARIABLE)
        log.info("published card snapshot %s", result)
        collected = writer.collect_garbage(retention, keep_versions)
        log.info("card store garbage collection %s", collected)
    return result
