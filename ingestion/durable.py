"""Durable writes: a file rename is only crash-safe once its directory is fsynced, and a SQLite
writer needs WAL (readers never block it) with synchronous=FULL (a commit survives power loss)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into_place(tmp: Path, target: Path) -> None:
    """Atomically replace `target` with the (already fsynced) `tmp`, and make the rename durable."""
    os.replace(tmp, target)
    fsync_dir(target.parent)


def sync_into_place(tmp: Path, target: Path) -> None:
    """Replace `target` with the file a database just wrote and closed at `tmp`: its bytes reach the disk first."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    move_into_place(tmp, target)


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old bytes or the new ones, never a part, before and after a crash."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    move_into_place(tmp, path)


def open_sqlite_writer(path: Path, **connect_options) -> sqlite3.Connection:
    """Autocommit mode: transactions are explicit (`immediate_transaction`), so a writer never upgrades late."""
    con = sqlite3.connect(path, isolation_level=None, timeout=60, **connect_options)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    # Deleted rows are overwritten with zeros, not left in free pages: erased personal data must
    # be gone from the file, not merely unreachable.
    con.execute("PRAGMA secure_delete = ON")
    return con


@contextmanager
def immediate_transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front; any exception rolls everything back."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
