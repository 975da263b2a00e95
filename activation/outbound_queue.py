"""What the queue has queued, and the commit of a new segment.

The queue's state is a DuckDB file of its own (`<activation>/queue.duckdb`), attached to the
warehouse connection while queueing, so deciding what changed is a set-based diff of the marts
against it. It holds, per destination, the next seq, the event cursor, the attribute set last queued
for each person, the event ids queued within the re-read window, and the erasures, unsendable items
and limit warnings found while queueing. Only the queue step writes it; delivery never opens it.

A queueing run commits in this order: (1) in one transaction of queue.duckdb, its state changes and
the segment's ledger row, with the segment written to a temporary file and fsynced inside that
transaction; (2) the rename of the segment into place. A crash before (1) commits leaves nothing;
after it, the next run finds the ledger row, renames the temporary file, and carries on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from activation import segments

DATABASE = "queue.duckdb"
ALIAS = "q"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {ALIAS}.streams (
    destination VARCHAR NOT NULL,          -- a workspace (site:<id>) or a brand's outbox (outbox:<brand>)
    next_seq BIGINT NOT NULL,
    events_cursor TIMESTAMPTZ,             -- newest available_at of the events read so far
    events_floor TIMESTAMPTZ,              -- events that occurred before this are history the stream never sends
    dead_identifies_seen VARCHAR           -- dead letters of identifies already handled (their dead_at)
);
CREATE TABLE IF NOT EXISTS {ALIAS}.segments (
    destination VARCHAR NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    items BIGINT NOT NULL,
    identifies BIGINT NOT NULL,
    events BIGINT NOT NULL,
    actions BIGINT NOT NULL,
    queued_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS {ALIAS}.people (
    destination VARCHAR NOT NULL,
    person_id VARCHAR NOT NULL,
    brand_id BIGINT NOT NULL,
    digest VARCHAR NOT NULL,               -- md5 of the attribute set's JSON text
    attributes VARCHAR NOT NULL            -- the attribute set last queued (the next identify is its diff)
);
CREATE TABLE IF NOT EXISTS {ALIAS}.events (
    destination VARCHAR NOT NULL,
    dedup_key VARCHAR NOT NULL,            -- the event's ULID
    available_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS {ALIAS}.erased (
    brand_id BIGINT NOT NULL,
    person_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL,               -- suppress | delete
    erased_at TIMESTAMPTZ NOT NULL,
    scrubbed_at TIMESTAMPTZ                -- pending segments and the outbox cleaned; NULL until then
);
CREATE TABLE IF NOT EXISTS {ALIAS}.unsendable (
    destination VARCHAR NOT NULL,
    brand_id BIGINT NOT NULL,
    person_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    dedup_key VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    message VARCHAR,
    dead_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS {ALIAS}.limit_warnings (
    destination VARCHAR NOT NULL,
    dedup_key VARCHAR NOT NULL,
    field VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    warned_at TIMESTAMPTZ NOT NULL
);
"""


@contextmanager
def attached(con: duckdb.DuckDBPyConnection, activation_dir: Path) -> Iterator[str]:
    """The queue state attached to `con` as `q`, created if new, with any half-finished commit completed."""
    activation_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"ATTACH '{activation_dir / DATABASE}' AS {ALIAS}")
    try:
        con.execute(SCHEMA)
        recover(con, activation_dir / "queue")
        yield ALIAS
    finally:
        con.execute(f"DETACH {ALIAS}")


def recover(con: duckdb.DuckDBPyConnection, queue_root: Path) -> None:
    """Rename segments whose ledger row committed (the step a crash may have missed); drop the temporary
    files of commits that never happened."""
    committed = con.execute(f"SELECT destination, first_seq, last_seq FROM {ALIAS}.segments").fetchall()
    known = set()
    for destination, first, last in committed:
        directory = segments.destination_dir(queue_root, destination)
        tmp = segments.temporary_path(directory, first, last)
        known.add(tmp)
        segments.publish(tmp, first, last)
    for tmp in queue_root.glob("*/.*.tmp"):
        if tmp not in known:
            tmp.unlink()


@dataclass(frozen=True)
class Stream:
    next_seq: int
    events_cursor: datetime | None
    events_floor: datetime | None
    dead_identifies_seen: str | None


def stream(con: duckdb.DuckDBPyConnection, destination: str) -> Stream:
    """Where a destination's stream stands; a new one starts at seq 1 with no cursor."""
    rows = con.execute(f"SELECT next_seq, events_cursor, events_floor, dead_identifies_seen FROM {ALIAS}.streams "
                       "WHERE destination = ?", [destination]).fetchall()
    if not rows:
        con.execute(f"INSERT INTO {ALIAS}.streams VALUES (?, 1, NULL, NULL, NULL)", [destination])
        return Stream(1, None, None, None)
    return Stream(*rows[0])


def write_segment(con: duckdb.DuckDBPyConnection, queue_root: Path, destination: str, items: str,
                  first_seq: int, last_seq: int) -> Path:
    """Inside the caller's transaction: write the `items` relation (segments.SCHEMA columns, seq order)
    to the segment's temporary file and fsync it. The caller commits, then calls segments.publish."""
    directory = segments.destination_dir(queue_root, destination)
    tmp = segments.temporary_path(directory, first_seq, last_seq)
    con.execute(f"""COPY (SELECT seq, brand_id, person_id, kind, dedup_key, item, available_at FROM {items} ORDER BY seq)
                    TO '{tmp}' (FORMAT parquet, COMPRESSION {segments.COMPRESSION}, ROW_GROUP_SIZE {segments.ROW_GROUP_ROWS})""")
    segments.fsync_file(tmp)
    return tmp
