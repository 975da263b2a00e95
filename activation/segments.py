"""Queue segments: the outbound items of one destination, as immutable Parquet files in seq order.

`<activation>/queue/<destination>/<first seq>-<last seq>.parquet`, one file per queueing run, columns
seq, brand_id, person_id, kind, dedup_key, item (the encoded batch item, JSON text) and available_at (events).
A segment is written to a temporary name, fsynced, and renamed into place only once the queue's own
state that names it has committed (outbound_queue.py), so delivery, which lists final names only,
never sees a segment the queue does not know. Delivery removes a segment once every item in it was
delivered, dead-lettered or skipped for an erased person; erasure rewrites the pending segments that
hold the person without their items.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.durable import fsync_dir, move_into_place

SCHEMA = pa.schema([
    ("seq", pa.int64()), ("brand_id", pa.int64()), ("person_id", pa.string()), ("kind", pa.string()), ("dedup_key", pa.string()),
    ("item", pa.string()), ("available_at", pa.timestamp("us", tz="UTC")),
])
NAME = re.compile(r"^([0-9]{12})-([0-9]{12})\.parquet\Z")
ROW_GROUP_ROWS = 50_000  # delivery reads a segment one row group at a time
COMPRESSION = "snappy"  # a segment lives until it is delivered: fast to write beats small
DESTINATION_FILE = "DESTINATION"
ACTIONS = ("suppress", "delete")  # what erasure itself sends


@dataclass(frozen=True)
class Segment:
    path: Path
    first_seq: int
    last_seq: int


def destination_dir(root: Path, destination: str) -> Path:
    """`outbox:1` -> `outbox-1`: a destination key as a folder name (the key itself is kept in the folder)."""
    directory = root / re.sub(r"[^A-Za-z0-9_.-]", "-", destination)
    marker = directory / DESTINATION_FILE
    if not marker.exists():
        directory.mkdir(parents=True, exist_ok=True)
        marker.write_text(destination)
    return directory


def destinations(root: Path) -> list[str]:
    """The destination keys with a queue folder."""
    return sorted((d / DESTINATION_FILE).read_text() for d in root.glob("*") if (d / DESTINATION_FILE).exists())


def segment_name(first_seq: int, last_seq: int) -> str:
    return f"{first_seq:012d}-{last_seq:012d}.parquet"


def temporary_path(directory: Path, first_seq: int, last_seq: int) -> Path:
    return directory / f".{segment_name(first_seq, last_seq)}.tmp"


def segments(directory: Path) -> list[Segment]:
    """Committed segments in seq order (temporary files are never listed)."""
    if not directory.exists():
        return []
    found = []
    for path in directory.iterdir():
        match = NAME.match(path.name)
        if match:
            found.append(Segment(path, int(match.group(1)), int(match.group(2))))
    return sorted(found, key=lambda s: s.first_seq)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def publish(tmp: Path, first_seq: int, last_seq: int) -> Path:
    """Rename a written (and fsynced) temporary segment into place; a no-op when already there."""
    final = tmp.parent / segment_name(first_seq, last_seq)
    if tmp.exists():
        move_into_place(tmp, final)
    return final


@dataclass(frozen=True)
class QueuedItem:
    """One item as tools and tests hand it over (the queue step builds its segments in SQL)."""

    brand_id: int
    person_id: str
    kind: str
    dedup_key: str
    item: bytes
    available_at: datetime | None = None


def append_items(directory: Path, items: list[QueuedItem]) -> Segment:
    """Write items as the destination's next committed segment (seqs follow the last segment's)."""
    existing = segments(directory)
    first = existing[-1].last_seq + 1 if existing else 1
    return write_rows(directory, pa.table({
        "seq": pa.array(range(first, first + len(items)), pa.int64()),
        "brand_id": [it.brand_id for it in items], "person_id": [it.person_id for it in items],
        "kind": [it.kind for it in items], "dedup_key": [it.dedup_key for it in items],
        "item": [it.item.decode() for it in items],
        "available_at": pa.array([it.available_at for it in items], pa.timestamp("us", tz="UTC"))}))


def write_rows(directory: Path, rows: pa.Table) -> Segment:
    """Write rows (SCHEMA, seq ascending) as a committed segment."""
    directory.mkdir(parents=True, exist_ok=True)
    first, last = rows["seq"][0].as_py(), rows["seq"][-1].as_py()
    tmp = temporary_path(directory, first, last)
    pq.write_table(rows.cast(SCHEMA), tmp, row_group_size=ROW_GROUP_ROWS, compression=COMPRESSION)
    fsync_file(tmp)
    return Segment(publish(tmp, first, last), first, last)


def read_batches(segment: Segment, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """A segment a row group at a time (bounded memory at any size)."""
    parquet = pq.ParquetFile(segment.path)
    for group in range(parquet.num_row_groups):
        yield from parquet.read_row_group(group, columns=columns).to_batches()


def without_people(segment: Segment, brand_id: int, people: Iterable[str]) -> int:
    """Rewrite the segment without the items of these people of the brand (erasure), except their
    suppress/delete itself; returns how many items were removed."""
    people = pa.array(sorted(set(people)), pa.string())

    def erased(rows: pa.Table) -> pa.ChunkedArray:
        return pc.and_(pc.and_(pc.equal(rows["brand_id"], brand_id), pc.is_in(rows["person_id"], value_set=people)),
                       pc.invert(pc.is_in(rows["kind"], value_set=pa.array(ACTIONS))))

    # Cheap first look at the key columns: most segments hold nothing of these people but their erasure.
    if not pc.any(erased(pq.read_table(segment.path, columns=["brand_id", "person_id", "kind"]))).as_py():
        return 0
    table = pq.read_table(segment.path)
    kept = table.filter(pc.invert(erased(table)))
    removed = table.num_rows - kept.num_rows
    if removed == 0:
        return 0
    tmp = segment.path.with_name(f".{segment.path.name}.rewrite.tmp")
    pq.write_table(kept, tmp, row_group_size=ROW_GROUP_ROWS, compression=COMPRESSION)
    fsync_file(tmp)
    move_into_place(tmp, segment.path)  # same name, same seq range: delivery bookkeeping is unchanged
    return removed


def remove(segment: Segment) -> None:
    segment.path.unlink(missing_ok=True)
    fsync_dir(segment.path.parent)


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """One holder at a time per destination: a delivery draining it, or an erasure rewriting it."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
