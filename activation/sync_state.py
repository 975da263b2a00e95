"""The durable delivery state: which queued items were delivered, which are dead, and why.

One SQLite file (WAL, synchronous=FULL) under the data directory, written by delivery only. The items
themselves are in the queue's segments (activation/segments.py); delivery records each batch it got a
2xx for as a seq range, in the same transaction as the batch's dead letters and per-kind counts. So a
crash at any point loses nothing: the next delivery skips the recorded ranges, and the only possible
resend is the batches that were in flight — whose events carry the same ULID, which Customer.io
deduplicates, and whose identifies are idempotent.

A destination is a Customer.io workspace (`site:<site_id>`) or, in a dry run, a brand's outbox
(`outbox:<brand_id>`); switching a brand from dry run to live starts a fresh stream for it.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from activation import segments
from activation.destinations import Destination
from ingestion.durable import immediate_transaction, open_sqlite_writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS delivered_ranges (
    destination TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,          -- every item of the destination in [first_seq, last_seq] is done
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (destination, first_seq)
);
CREATE TABLE IF NOT EXISTS status_counts (
    destination TEXT NOT NULL,
    brand_id INTEGER NOT NULL,
    kind TEXT NOT NULL,                 -- identify | event | suppress | delete
    status TEXT NOT NULL,               -- delivered | dead | skipped_erased
    items INTEGER NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (destination, brand_id, kind, status)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    destination TEXT NOT NULL,
    seq INTEGER NOT NULL,
    brand_id INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    reason TEXT NOT NULL,
    field TEXT,
    message TEXT,
    dead_at TEXT NOT NULL,
    PRIMARY KEY (destination, seq)
);
CREATE TABLE IF NOT EXISTS brands (
    brand_id INTEGER PRIMARY KEY,
    region TEXT NOT NULL             -- us | eu: where the brand's workspace lives (no secrets here)
);
CREATE TABLE IF NOT EXISTS erased (
    brand_id INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    PRIMARY KEY (brand_id, person_id)
);
"""


PENDING_COLUMNS = ["seq", "brand_id", "kind", "available_at"]


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class PendingItem:
    seq: int
    person_id: str
    kind: str
    dedup_key: str
    item: bytes


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    reason: str
    field: str | None
    message: str


class SyncState:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.queue_root = path.parent / "queue"
        self._con = open_sqlite_writer(path, check_same_thread=False)
        self._con.executescript(SCHEMA)

    @property
    def connection(self) -> sqlite3.Connection:
        return self._con

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> SyncState:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._con)

    def query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        return self._con.execute(sql, tuple(params)).fetchall()

    def queue_dir(self, destination: str) -> Path:
        return segments.destination_dir(self.queue_root, destination)

    def outbox_locked(self, brand_id: int) -> AbstractContextManager[None]:
        """The lock of the brand's outbox stream: its delivery holds it while writing bodies, a prune while deleting
        old ones and an erasure's scrub while rewriting them."""
        return segments.locked(self.queue_dir(Destination(brand_id).key))

    # --- brands and erasure ----------------------------------------------------------------------

    def set_brands(self, regions: dict[int, str]) -> None:
        with self.transaction() as con:
            con.executemany("INSERT OR REPLACE INTO brands VALUES (?, ?)", list(regions.items()))

    def brands(self) -> dict[int, str]:
        return dict(self.query("SELECT brand_id, region FROM brands ORDER BY brand_id"))

    def mark_erased(self, brand_id: int, people: Iterable[str]) -> None:
        """From now on delivery skips these people's items, and their dead letters (whose messages can
        quote their data) are gone; idempotent."""
        people = list(people)
        with self.transaction() as con:
            con.executemany("INSERT OR IGNORE INTO erased VALUES (?, ?, ?)",
                            [(brand_id, person, utc_now()) for person in people])
            con.executemany("DELETE FROM dead_letters WHERE brand_id = ? AND person_id = ?",
                            [(brand_id, person) for person in people])
        # secure_delete zeroes the freed pages; the checkpoint clears the WAL's older copies of them.
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def erased_people(self) -> set[str]:
        """`<brand_id>:<person_id>` of every erased person."""
        return {f"{brand}:{person}" for brand, person in self.query("SELECT brand_id, person_id FROM erased")}

    # --- delivery -------------------------------------------------------------------------------

    def delivered_ranges(self, destination: str, first_seq: int, last_seq: int) -> list[tuple[int, int]]:
        return self.query("SELECT first_seq, last_seq FROM delivered_ranges WHERE destination = ? AND last_seq >= ?"
                          " AND first_seq <= ? ORDER BY first_seq", (destination, first_seq, last_seq))

    def mark_delivered(self, destination: str, brand_id: int, items: list[PendingItem], dead: list[DeadLetter]) -> None:
        """One transaction: the batch's seq range done, its rejected items dead, the counts per kind and status."""
        now = utc_now()
        dead_seqs = {d.seq for d in dead}
        by_seq = {it.seq: it for it in items}
        counts = Counter((it.kind, "dead" if it.seq in dead_seqs else "delivered") for it in items)
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO delivered_ranges VALUES (?, ?, ?, ?)",
                        (destination, items[0].seq, items[-1].seq, now))
            # Not for a person erased while the batch was in flight: their dead letters went with the erasure.
            con.executemany(
                "INSERT OR REPLACE INTO dead_letters SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM erased WHERE brand_id = ? AND person_id = ?)",
                [(destination, d.seq, brand_id, by_seq[d.seq].person_id, by_seq[d.seq].kind, by_seq[d.seq].dedup_key,
                  d.reason, d.field, d.message, now, brand_id, by_seq[d.seq].person_id) for d in dead])
            con.executemany(
                "INSERT INTO status_counts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (destination, brand_id, kind, status) "
                "DO UPDATE SET items = items + excluded.items, last_at = excluded.last_at",
                [(destination, brand_id, kind, status, n, now) for (kind, status), n in counts.items() if n])

    def segment_finished(self, destination: str, segment: segments.Segment, skipped: Counter) -> None:
        """Every item of the segment is accounted for (`skipped`: per brand and kind, not sent for an erased person):
        the file goes, then its ranges. A crash between the two leaves ranges of a file that is gone: harmless."""
        segments.remove(segment)
        now = utc_now()
        with self.transaction() as con:
            con.execute("DELETE FROM delivered_ranges WHERE destination = ? AND first_seq >= ? AND last_seq <= ?",
                        (destination, segment.first_seq, segment.last_seq))
            con.executemany(
                "INSERT INTO status_counts VALUES (?, ?, ?, 'skipped_erased', ?, ?) "
                "ON CONFLICT (destination, brand_id, kind, status) DO UPDATE SET items = items + excluded.items, "
                "last_at = excluded.last_at",
                [(destination, brand, kind, n, now) for (brand, kind), n in skipped.items() if n])

    def streams(self) -> list[str]:
        """Destinations with committed segments left to deliver."""
        return [key for key in segments.destinations(self.queue_root) if segments.segments(self.queue_dir(key))]

    # --- what is left ---------------------------------------------------------------------------

    def pending_items(self, destination: str) -> pa.Table:
        """(seq, brand_id, kind, available_at) of the items not yet delivered, from the remaining segments."""
        tables = []
        for segment in segments.segments(self.queue_dir(destination)):
            done = self.delivered_ranges(destination, segment.first_seq, segment.last_seq)
            for batch in segments.read_batches(segment, PENDING_COLUMNS):
                seq = batch.column("seq").to_numpy()
                covered = np.zeros(len(seq), bool)
                for first, last in done:
                    covered |= (seq >= first) & (seq <= last)
                tables.append(pa.Table.from_batches([batch]).filter(pa.array(~covered)))
        return pa.concat_tables(tables) if tables else segments.SCHEMA.empty_table().select(PENDING_COLUMNS)

    def counts(self, destination: str | None = None) -> dict[str, int]:
        """Items per status: pending (in segments, not yet delivered), delivered, dead."""
        where = "status != 'skipped_erased'" + (" AND destination = ?" if destination else "")
        totals = Counter(dict(self.query(f"SELECT status, sum(items) FROM status_counts WHERE {where} GROUP BY status",
                                         (destination,) if destination else ())))
        streams = [destination] if destination else self.streams()
        totals["pending"] += sum(self.pending_items(stream).num_rows for stream in streams)
        return {status: n for status, n in totals.items() if n}

    def oldest_pending_event(self, destination: str | None = None) -> str | None:
        streams = [destination] if destination else self.streams()
        oldest = None
        for stream in streams:
            pending = self.pending_items(stream)
            events = pending.filter(pc.equal(pending["kind"], "event"))["available_at"]
            value = pc.min(events).as_py() if len(events) else None
            if value is not None and (oldest is None or value < oldest):
                oldest = value
        return oldest.isoformat() if oldest else None

