"""The dry-run outbox: without credentials, the exact request bodies that would have been sent.

One file per batch body, `<root>/brand=<id>/batch-<first seq>-<last seq>.json`, written to a temporary
name, fsynced and renamed, so a reader never sees half a body. Erasure scrubs a person's items from
every body already written.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from ingestion.durable import write_atomically


class Outbox:
    def __init__(self, root: Path):
        self.root = root

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

    def scrub(self, brand_id: int, people: set[str]) -> int:
        """Remove these people's items from every body but their suppress/delete; returns how many were removed.
        One pass over the bodies whatever the number of people."""
        removed = 0
        for path in self.bodies(brand_id):
            batch = orjson.loads(path.read_bytes())["batch"]
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
