"""Replace several folders with rewritten copies of themselves so that a crash leaves either all old or, once
finished, all new: a journalled swap on a POSIX file system.

1. Each copy is written beside its folder as `.redacted-<name>` (a hidden name: Spark's file listing and the
   DuckDB views over Spark's files skip it). The live folders stay untouched.
2. The commit point: one journal file listing the swaps is written under a hidden name, synced and renamed into
   place (`write_atomically`). Before it exists, the old data stands and the copies are leftovers.
3. Each folder is renamed to `.replaced-<name>`, its copy renamed into its place, the old one deleted; then the
   journal is deleted. `finish` does this from any point a crash left, so it is run before anyone reads the
   folders again (engine/spark.py runs it before any session opens).

Nothing here knows Spark: the swaps name the Spark table over each folder so the caller can refresh its listing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingestion.durable import fsync_dir, write_atomically

COPY_PREFIX = ".redacted-"
REPLACED_PREFIX = ".replaced-"


@dataclass(frozen=True)
class Swap:
    folder: Path
    table: str  # the Spark table whose files the folder holds

    @property
    def copy(self) -> Path:
        return self.folder.with_name(COPY_PREFIX + self.folder.name)

    @property
    def replaced(self) -> Path:
        return self.folder.with_name(REPLACED_PREFIX + self.folder.name)


def commit(journal: Path, swaps: list[Swap], note: dict) -> None:
    """The commit point: from here on the copies win. `note`: what the caller gets back from `finish`."""
    journal.parent.mkdir(parents=True, exist_ok=True)
    body = {"swaps": [{"folder": str(s.folder), "table": s.table} for s in swaps], "note": note}
    write_atomically(journal, json.dumps(body, indent=1).encode())


def read_journal(journal: Path) -> tuple[list[Swap], dict]:
    body = json.loads(journal.read_text())
    return [Swap(Path(s["folder"]), s["table"]) for s in body["swaps"]], body["note"]


def swap_into_place(swap: Swap) -> None:
    """Put the copy in the folder's place; idempotent from whichever step a crash stopped at."""
    if swap.copy.exists():
        if swap.folder.exists():
            os.rename(swap.folder, swap.replaced)
        os.rename(swap.copy, swap.folder)
        fsync_dir(swap.folder.parent)
    if swap.replaced.exists():
        shutil.rmtree(swap.replaced)


def finish(journal: Path, on_done: Callable[[dict], None]) -> list[Swap]:
    """Complete a committed swap (all of it, or what a crash left of it), call `on_done` with the journal's note,
    and delete the journal; returns the swaps done (none without a journal)."""
    if not journal.exists():
        return []
    swaps, note = read_journal(journal)
    for swap in swaps:
        swap_into_place(swap)
    on_done(note)
    journal.unlink()
    fsync_dir(journal.parent)
    return swaps
