"""Every published card document must validate against docs/schemas/cards/member_cards.schema.json.

The schema (draft 2020-12, formats asserted) is compiled once with jsonschema-rs, a Rust validator:
about 5 µs a document, a tenth of what a pure-Python validator takes, so a full publish of a million
members checks every document in seconds. Validation runs in a worker process while the publish goes
on, and only on the documents a publish stores (new or changed content): an unchanged member keeps
bytes that were validated when stored. The verdict is awaited before the publish switches versions,
inside its transaction. Workers are spawned (not forked), so a script calling this needs the usual
`if __name__ == "__main__":` guard.
"""

from __future__ import annotations

import json
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Self

import jsonschema_rs
import orjson

from engine.worker_processes import spawn_pool
from ingestion.paths import PROJECT_ROOT
from publishing.streams import chunks

CARD_SCHEMA_PATH = PROJECT_ROOT / "docs" / "schemas" / "cards" / "member_cards.schema.json"
REPORTED_OFFENDERS = 5
CHUNK_DOCUMENTS = 2_000
CHUNKS_IN_FLIGHT = 4  # bounds memory: at most this many chunks wait for their verdict
# One core stays with the publish itself (hashing, compressing, SQLite).
WORKER_PROCESSES = max(1, (os.cpu_count() or 2) - 1)


@dataclass(frozen=True)
class Offender:
    brand_id: int
    user_id: int
    reason: str


class InvalidDocumentsError(ValueError):
    """Raised after the whole set was checked; lists the first offenders and the total."""

    def __init__(self, offenders: list[Offender], total: int):
        self.offenders = offenders
        self.total = total
        listed = "; ".join(f"brand {o.brand_id} user {o.user_id}: {o.reason}" for o in offenders)
        super().__init__(f"{total} card document(s) invalid against {CARD_SCHEMA_PATH.name}, first: {listed}")


@cache
def card_document_validator() -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator(json.loads(CARD_SCHEMA_PATH.read_text()), validate_formats=True)


def problem(brand_id: int, user_id: int, body: bytes) -> str | None:
    """Why this document cannot be published, or None when it is valid and belongs to (brand, user)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        return f"not JSON: {error}"
    validator = card_document_validator()
    # is_valid stops at the first failure and builds no error: a quarter cheaper for the valid majority.
    error = None if validator.is_valid(document) else next(validator.iter_errors(document), None)
    if error is not None:
        where = "/".join(str(part) for part in error.instance_path)
        return f"{where or 'document'}: {error.message}"
    if (document["brand_id"], document["user_id"]) != (brand_id, user_id):
        return f"document is for brand {document['brand_id']} user {document['user_id']}"
    return None


def problems(chunk: list[tuple[int, int, bytes]]) -> list[str | None]:
    """problem() of every document of a chunk (runs in a worker process)."""
    return [problem(brand_id, user_id, body) for brand_id, user_id, body in chunk]


class BackgroundValidator:
    """Validates submitted chunks in a worker process; `finish()` raises InvalidDocumentsError listing the
    first offenders once everything submitted was checked (so several are reported at once)."""

    def __init__(self) -> None:
        self._pending: deque = deque()
        self._found = _Offenders()
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Self:
        self._pool = spawn_pool(WORKER_PROCESSES)
        return self

    def __exit__(self, *exc_info) -> None:
        self._pool.shutdown(cancel_futures=True)

    def submit(self, documents: list[tuple[int, int, bytes]]) -> None:
        for chunk in chunks(documents, CHUNK_DOCUMENTS):
            self._pending.append((chunk, self._pool.submit(problems, chunk)))
        while len(self._pending) > CHUNKS_IN_FLIGHT:  # bounds memory: wait for the oldest verdicts
            self._found.record(*_verdict(self._pending.popleft()))

    def finish(self) -> int:
        """Wait for every verdict; returns how many documents were checked."""
        while self._pending:
            self._found.record(*_verdict(self._pending.popleft()))
        if self._found.total:
            raise InvalidDocumentsError(self._found.first, self._found.total)
        return self._found.checked


@dataclass
class _Offenders:
    first: list[Offender] = field(default_factory=list)
    total: int = 0
    checked: int = 0

    def record(self, chunk: list[tuple[int, int, bytes]], reasons: list[str | None]) -> None:
        self.checked += len(chunk)
        for (brand_id, user_id, _), reason in zip(chunk, reasons):
            if reason is None:
                continue
            self.total += 1
            if len(self.first) < REPORTED_OFFENDERS:
                self.first.append(Offender(brand_id, user_id, reason))


def _verdict(pending: tuple) -> tuple[list, list[str | None]]:
    chunk, future = pending
    return chunk, future.result()
