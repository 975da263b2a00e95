"""Discovering complete files in the landing zone.

Producers write to a temporary name and rename when done, so anything that looks
temporary or hidden is never read. A file with an unknown extension is still listed
(and later rejected with a reason) so that nothing is silently ignored.
"""

from __future__ import annotations

import re
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
PARTITION_DIR = re.compile(r"^dt=(\d{4}-\d{2}-\d{2})$")
STAMP = re.compile(r"(\d{8}T\d{6}Z)")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str  # path relative to the landing zone, the file's name in the ledger
    size: int
    modified_ns: int
    changed_ns: int  # ctime: a rename into place updates it, unlike mtime

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
    if not root.exists():
        return []
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or is_incomplete(path):
            continue
        if any(is_incomplete(Path(p)) for p in path.relative_to(root).parts[:-1]):
            continue  # a temporary folder
        stat = path.stat()
        f = LandingFile(path, path.relative_to(landing).as_posix(), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        if partitions is None or f.partition in partitions:
            found.append(f)
    return sorted(found, key=lambda f: f.relative)


def partition_days(landing: Path, folder: str) -> list[date]:
    return sorted({date.fromisoformat(f.partition) for f in discover(landing, folder)})
