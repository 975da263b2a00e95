"""Discovering complete files in the landing zone.

Producers write to a temporary name and rename when done, so anything that looks
temporary or hidden is never read. A file with an unknown extension is still listed
(and later rejected with a reason) so that nothing is silently ignored.

Only regular files inside the landing zone are ever read. Links are never followed (a link to
/proc/self/environ would put the loader's secrets into the quarantine); a link, FIFO, socket or
device is listed with its refusal, which the loader records once without opening it.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

FORMATS = {
    ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson",
    ".ndjson.gz": "ndjson", ".jsonl.gz": "ndjson", ".json.gz": "ndjson",
    ".csv": "csv", ".csv.gz": "csv",
    ".parquet": "parquet",
}
INCOMPLETE_SUFFIXES = (".tmp", ".temp", ".partial", ".part", ".crdownload", ".inprogress")
PARTITION_DIR = re.compile(r"^dt=([0-9]{4}-[0-9]{2}-[0-9]{2})\Z")
STAMP = re.compile(r"(\d{8}T\d{6}Z)")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str  # path relative to the landing zone, the file's name in the ledger
    size: int
    modified_ns: int
    changed_ns: int  # ctime: a rename into place updates it, unlike mtime
    refusal: str | None = None  # why an entry that is not a regular file is never opened

    @property
    def format(self) -> str | None:
        name = self.path.name.lower()
        for suffix in sorted(FORMATS, key=len, reverse=True):
            if name.endswith(suffix):
                return FORMATS[suffix]
        return None

    @property
    def partition(self) -> str:
        """The dt=YYYY-MM-DD folder the file landed in, else the UTC day it arrived."""
        for part in reversed(self.path.parent.parts):
            match = PARTITION_DIR.match(part)
            if match and _is_date(match.group(1)):
                return match.group(1)
        return datetime.fromtimestamp(self.changed_ns / 1e9, UTC).date().isoformat()

    @property
    def stamp(self) -> datetime:
        """Extraction/export time from a YYYYMMDDTHHMMSSZ stamp in the name, else the arrival time."""
        for match in STAMP.finditer(self.path.name):
            try:
                return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            except ValueError:
                continue  # not a real date and time: not a stamp
        return datetime.fromtimestamp(self.modified_ns / 1e9, UTC)


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
        return True
    except ValueError:
        return False


def is_incomplete(path: Path) -> bool:
    name = path.name
    return name.startswith((".", "_", "~")) or name.lower().endswith(INCOMPLETE_SUFFIXES)


def discover(landing: Path, folder: str, partitions: set[str] | None = None) -> list[LandingFile]:
    root = landing / folder
    if root.is_symlink():  # loud, not silently empty: a receiver may be writing through it
        raise NotADirectoryError(f"landing folder {folder} is a link; links are never followed: make it a folder")
    if not root.is_dir():
        return []
    found = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(directory)
        if any(is_incomplete(Path(p)) for p in here.relative_to(root).parts):
            dirnames.clear()
            continue  # a temporary folder
        links_to_dirs = [name for name in dirnames if (here / name).is_symlink()]  # os.walk lists, never enters
        for name in filenames + links_to_dirs:
            path = here / name
            if is_incomplete(path):
                continue
            try:
                info = path.lstat()  # the entry itself, never what a link points to
            except FileNotFoundError:
                continue  # gone since the listing
            refusal = None if stat.S_ISREG(info.st_mode) else f"not a regular file: {entry_kind(info.st_mode)}"
            f = LandingFile(path, path.relative_to(landing).as_posix(), info.st_size, info.st_mtime_ns,
                            info.st_ctime_ns, refusal)
            if partitions is None or f.partition in partitions:
                found.append(f)
    return sorted(found, key=lambda f: f.relative)


def entry_kind(mode: int) -> str:
    for test, kind in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "directory")):
        if test(mode):
            return kind
    return "unknown kind"


def partition_days(landing: Path, folder: str) -> list[date]:
    return sorted({date.fromisoformat(f.partition) for f in discover(landing, folder)})
