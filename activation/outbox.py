"""The dry-run outbox: without credentials, the exact request bodies that would have been sent.

One file per batch body, `<root>/brand=<id>/batch-<first seq>-<last seq>.json`, written to a temporary
name, fsynced and renamed, so a reader never sees half a body. Erasure scrubs a person's items from
every body already written. With a retention, a delivery deletes the bodies written (or scrubbed) longer
ago than that: a dry run otherwise keeps every request body it ever wrote (1.3 GB after a first sync of a
million members).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import orjson

from ingestion.durable import write_atomically


# Beyond this many people, searching a body's bytes for their ids costs about as much as parsing it.
MAX_SEARCHED_PEOPLE = 1_000
# Characters the bodies' writers (DuckDB's to_json, orjson) never escape: an id of only these is the same bytes in
# every body.
PLAIN_ID = re.compile(r"[ !#-.0-\[\]-~]*")


def mentions(people: Iterable[str]) -> re.Pattern[bytes] | None:
    """A pattern found in every body that holds an item of one of these people: their ids as JSON strings. None
    when a body's bytes cannot tell (an id JSON may write in more than one way, or too many people)."""
    people = sorted(set(people))
    if len(people) > MAX_SEARCHED_PEOPLE or not all(PLAIN_ID.fullmatch(person) for person in people):
        return None
    return re.compile(b'"(?:' + b"|".join(re.escape(person.encode()) for person in people) + b')"')


class Outbox:
    def __init__(self, root: Path, retention: timedelta | None = None):
        if retention is not None and retention < timedelta(0):
            raise ValueError(f"an outbox retention cannot be negative: {retention}")
        self.root = root
        self.retention = retention  # None keeps every body

    def brand_dir(self, brand_id: int) -> Path:
        return self.root / f"brand={brand_id}"

    def write(self, brand_id: int, first_seq: int, last_seq: int, body: bytes) -> Path:
        directory = self.brand_dir(brand_id)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"batch-{first_seq:012d}-{last_seq:012d}.json"
        write_atomically(path, body)  # a rerun after a crash rewrites the same name: idempotent
        return path

    def bodies(self, brand_id: int) -> list[Path]:
        directory = self.brand_dir(brand_id)
        return sorted(directory.glob("batch-*.json")) if directory.exists() else []

    def brands(self) -> list[int]:
        """The brands with an outbox folder."""
        folders = self.root.glob("brand=*") if self.root.exists() else []
        names = [folder.name.removeprefix("brand=") for folder in folders if folder.is_dir()]
        return sorted(int(name) for name in names if name.isdigit())  # nothing else is the outbox's

    def prune(self, brand_id: int, now: float | None = None) -> int:
        """Delete the brand's bodies last written more than the retention before `now` (epoch seconds); returns how
        many. The caller holds the brand's outbox lock (SyncState.outbox_locked), as a scrub does."""
        if self.retention is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention.total_seconds()
        pruned = 0
        for path in self.bodies(brand_id):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                pruned += 1
        return pruned

    def scrub(self, brand_id: int, people: set[str]) -> int:
        """Remove these people's items from every body but their suppress/delete; returns how many were removed.
        One pass over the bodies whatever the number of people; only a body whose bytes name one of them is parsed.
        The caller holds the brand's outbox lock (SyncState.outbox_locked), as a prune does."""
        if not people:
            return 0
        removed = 0
        named = mentions(people)
        for path in self.bodies(brand_id):
            body = path.read_bytes()
            if named is not None and not named.search(body):
                continue
            batch = orjson.loads(body)["batch"]
            kept = [item for item in batch if item.get("identifiers", {}).get("id") not in people
                    or item.get("action") in ("suppress", "delete")]  # erasure's own request stays
            if len(kept) == len(batch):
                continue
            removed += len(batch) - len(kept)
            if kept:
                write_atomically(path, orjson.dumps({"batch": kept}))
            else:
                path.unlink()
        return removed
