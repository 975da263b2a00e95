"""The durable sync state: an outbound queue with the delivery status of every item.

One SQLite file (WAL, synchronous=FULL) under the data directory. An item is queued once per
destination (its dedup key is unique), marked delivered only after Customer.io answered 2xx for
its batch, in the same transaction that records dead letters and the person attributes now known to
Customer.io. So a crash at any point loses nothing: undelivered items are still pending on the next
run, and the only possible resend is the batch that was in flight — whose events carry the same
ULID, which Customer.io deduplicates, and whose identifies are idempotent.

A destination is a Customer.io workspace (`site:<site_id>`) or, in a dry run, a brand's outbox
(`outbox:<brand_id>`); switching a brand from dry run to live starts a fresh stream for it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ingestion.durable import immediate_transaction, open_sqlite_writer

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbound (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    brand_id INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    kind TEXT NOT NULL,              -- identify | event | suppress | delete
    dedup_key TEXT NOT NULL,         -- events: their ULID; identify: person + attribute digest
    item BLOB,                       -- the encoded batch item; NULL once the person is erased
    attributes BLOB,                 -- identify: the full attribute set it brings Customer.io to
    available_at TEXT,               -- events: when the platform had them (freshness lag)
    enqueued_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | delivered | dead
    delivered_at TEXT,
    UNIQUE (destination, dedup_key)
);
CREATE INDEX IF NOT EXISTS outbound_pending ON outbound (destination, status, seq);
CREATE INDEX IF NOT EXISTS outbound_person ON outbound (brand_id, person_id);
CREATE TABLE IF NOT EXISTS people_delivered (
    destination TEXT NOT NULL,
    person_id TEXT NOT NULL,
    brand_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    attributes BLOB NOT NULL,
    PRIMARY KEY (destination, person_id)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    brand_id INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    reason TEXT NOT NULL,
    field TEXT,
    message TEXT,
    dead_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS limit_warnings (
    destination TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    field TEXT NOT NULL,
    message TEXT NOT NULL,
    warned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (
    destination TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (destination, name)
);
CREATE TABLE IF NOT EXISTS brands (
    brand_id INTEGER PRIMARY KEY,
    region TEXT NOT NULL             -- us | eu: where the brand's workspace lives (no secrets here)
);
CREATE TABLE IF NOT EXISTS erased (
    brand_id INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    action TEXT NOT NULL,
    erased_at TEXT NOT NULL,
    PRIMARY KEY (brand_id, person_id)
);
"""


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class QueuedItem:
    destination: str
    brand_id: int
    person_id: str
    kind: str
    dedup_key: str
    item: bytes
    attributes: bytes | None = None
    available_at: str | None = None


@dataclass(frozen=True)
class PendingItem:
    seq: int
    person_id: str
    kind: str
    item: bytes
    attributes: bytes | None


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

    # --- queueing -------------------------------------------------------------------------------

    def enqueue(self, items: Iterable[QueuedItem]) -> tuple[int, int]:
        """Queue items not queued before; returns (queued, already queued)."""
        queued = seen = 0
        now = utc_now()
        with self.transaction() as con:
            for it in items:
                cur = con.execute(
                    "INSERT OR IGNORE INTO outbound (destination, brand_id, person_id, kind, dedup_key, item, attributes,"
                    " available_at, enqueued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (it.destination, it.brand_id, it.person_id, it.kind, it.dedup_key, it.item, it.attributes,
                     it.available_at, now))
                if cur.rowcount:
                    queued += 1
                else:
                    seen += 1
        return queued, seen

    def supersede_identifies(self, destination: str, person_ids: Iterable[str]) -> int:
        """A newer identify replaces a pending one (it is computed against what was delivered)."""
        with self.transaction() as con:
            return sum(con.execute(
                "DELETE FROM outbound WHERE destination = ? AND person_id = ? AND kind = 'identify' AND status = 'pending'",
                (destination, p)).rowcount for p in person_ids)

    def record_warnings(self, destination: str, warnings: Iterable[tuple[str, str, str]]) -> None:
        rows = [(destination, key, field, message, utc_now()) for key, field, message in warnings]
        if rows:
            with self.transaction() as con:
                con.executemany("INSERT INTO limit_warnings VALUES (?, ?, ?, ?, ?)", rows)

    def dead_letter_unsendable(self, item: QueuedItem, reason: str, message: str) -> None:
        """An item no truncation can make valid: recorded dead, never sent."""
        with self.transaction() as con:
            cur = con.execute(
                "INSERT OR IGNORE INTO outbound (destination, brand_id, person_id, kind, dedup_key, item, enqueued_at,"
                " status) VALUES (?, ?, ?, ?, ?, NULL, ?, 'dead')",
                (item.destination, item.brand_id, item.person_id, item.kind, item.dedup_key, utc_now()))
            if cur.rowcount:
                con.execute("INSERT INTO dead_letters VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                            (cur.lastrowid, item.destination, item.brand_id, item.person_id, item.kind, item.dedup_key,
                             reason, message, utc_now()))

    def set_brands(self, regions: dict[int, str]) -> None:
        with self.transaction() as con:
            con.executemany("INSERT OR REPLACE INTO brands VALUES (?, ?)", list(regions.items()))

    def brands(self) -> dict[int, str]:
        return dict(self.query("SELECT brand_id, region FROM brands ORDER BY brand_id"))

    def pending_streams(self) -> list[tuple[str, int, int]]:
        """(destination, brand_id, pending items) for every stream with something left to deliver."""
        return self.query("SELECT destination, brand_id, count(*) FROM outbound WHERE status = 'pending'"
                          " GROUP BY destination, brand_id ORDER BY destination, brand_id")

    # --- cursors and delivered attributes --------------------------------------------------------

    def cursor(self, destination: str, name: str) -> str | None:
        rows = self.query("SELECT value FROM cursors WHERE destination = ? AND name = ?", (destination, name))
        return rows[0][0] if rows else None

    def set_cursor(self, destination: str, name: str, value: str) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO cursors VALUES (?, ?, ?)", (destination, name, value))

    def delivered_digests(self, destination: str) -> list[tuple[str, str]]:
        return self.query("SELECT person_id, digest FROM people_delivered WHERE destination = ?", (destination,))

    def delivered_attributes(self, destination: str, person_ids: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for start in range(0, len(person_ids), 500):
            chunk = person_ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for person, attrs in self.query(
                    f"SELECT person_id, attributes FROM people_delivered WHERE destination = ? AND person_id IN ({marks})",
                    (destination, *chunk)):
                out[person] = orjson.loads(attrs)
        return out

    # --- delivery -------------------------------------------------------------------------------

    def pending(self, destination: str, after_seq: int = 0, limit: int = 10_000) -> list[PendingItem]:
        return [PendingItem(*row) for row in self.query(
            "SELECT seq, person_id, kind, item, attributes FROM outbound WHERE destination = ? AND status = 'pending'"
            " AND seq > ? ORDER BY seq LIMIT ?", (destination, after_seq, limit))]

    def mark_delivered(self, destination: str, brand_id: int, items: list[PendingItem], dead: list[DeadLetter]) -> None:
        """One transaction: the batch's items delivered, its rejected ones dead, the attributes Customer.io now has."""
        now = utc_now()
        dead_seqs = {d.seq for d in dead}
        by_seq = {it.seq: it for it in items}
        with self.transaction() as con:
            # A batch is a run of this destination's pending items in seq order (new items get higher seqs),
            # so one range update marks it; the dead ones are then set apart.
            con.execute("UPDATE outbound SET status = 'delivered', delivered_at = ? WHERE destination = ?"
                        " AND seq BETWEEN ? AND ? AND status = 'pending'", (now, destination, items[0].seq, items[-1].seq))
            con.executemany("UPDATE outbound SET status = 'dead', delivered_at = NULL WHERE seq = ?",
                            [(d.seq,) for d in dead])
            con.executemany(
                "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, (SELECT dedup_key FROM outbound WHERE seq = ?),"
                " ?, ?, ?, ?)",
                [(d.seq, destination, brand_id, by_seq[d.seq].person_id, by_seq[d.seq].kind, d.seq, d.reason, d.field,
                  d.message, now) for d in dead])
            for it in items:
                if it.kind == "identify" and it.seq not in dead_seqs and it.attributes is not None:
                    con.execute(
                        "INSERT OR REPLACE INTO people_delivered VALUES (?, ?, ?, ?, ?)",
                        (destination, it.person_id, brand_id, attributes_digest(it.attributes), it.attributes))

    # --- erasure --------------------------------------------------------------------------------

    def is_erased(self, brand_id: int, person_id: str) -> bool:
        return bool(self.query("SELECT 1 FROM erased WHERE brand_id = ? AND person_id = ?", (brand_id, person_id)))

    def erase(self, brand_id: int, person_id: str, action_item: QueuedItem) -> None:
        """Forget the person everywhere in the outbound state, then queue the suppress/delete itself."""
        with self.transaction() as con:
            con.execute("DELETE FROM outbound WHERE brand_id = ? AND person_id = ? AND status = 'pending'",
                        (brand_id, person_id))
            con.execute("UPDATE outbound SET item = NULL, attributes = NULL WHERE brand_id = ? AND person_id = ?",
                        (brand_id, person_id))
            con.execute("DELETE FROM people_delivered WHERE brand_id = ? AND person_id = ?", (brand_id, person_id))
            con.execute("DELETE FROM limit_warnings WHERE dedup_key IN (SELECT dedup_key FROM outbound"
                        " WHERE brand_id = ? AND person_id = ?)", (brand_id, person_id))
            con.execute("INSERT INTO erased VALUES (?, ?, ?, ?)", (brand_id, person_id, action_item.kind, utc_now()))
            con.execute(
                "INSERT OR IGNORE INTO outbound (destination, brand_id, person_id, kind, dedup_key, item, enqueued_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (action_item.destination, brand_id, person_id, action_item.kind, action_item.dedup_key, action_item.item,
                 utc_now()))

    # --- observability --------------------------------------------------------------------------

    def oldest_pending_event(self, destination: str | None = None) -> str | None:
        where = "kind = 'event' AND status = 'pending'" + (" AND destination = ?" if destination else "")
        rows = self.query(f"SELECT min(available_at) FROM outbound WHERE {where}", (destination,) if destination else ())
        return rows[0][0]

    def counts(self, destination: str | None = None) -> dict[str, int]:
        where, params = ("WHERE destination = ?", (destination,)) if destination else ("", ())
        return dict(self.query(f"SELECT status, count(*) FROM outbound {where} GROUP BY status", params))


def attributes_digest(attributes: bytes) -> str:
    """Of the canonical (sorted-key) encoding, so equal attribute sets have equal digests."""
    return hashlib.md5(attributes).hexdigest()
