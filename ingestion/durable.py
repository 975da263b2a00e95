"""Durable file moves: a rename is only crash-safe once the directory that holds it is fsynced."""

from __future__ import annotations

import os
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


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old bytes or the new ones, never a part, before and after a crash."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    move_into_place(tmp, path)
