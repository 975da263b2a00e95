"""Exactly-once loading of landing files into raw tables, many files per set-based pass.

New files of a source are loaded in batches (bounded in bytes): the batch's files are read in
threads while the previous batch is in the database, then validated, deduplicated and inserted
with one statement each over the whole batch. A batch is one DuckDB transaction: its good rows,
quarantined rows and every file's ledger entry (audit.ingested_files) commit together or not at
all, so a process killed mid-batch leaves no trace of its files and the next run loads them again.
A batch that fails with an unexpected error is retried file by file, so one broken file never
blocks the others. A snapshot source (a full extract per file) loads one file per batch.

Exactly once, at three levels:
- a path already in the ledger with the same size and mtime is not read again;
- the same content under another name (sha256) is recorded as duplicate_content;
- rows are deduplicated by the source's key across every file ever loaded; a repeated
  key with different content is quarantined as a conflict instead of being guessed at.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ingestion import readers
from ingestion.landing_files import LandingFile, discover, entry_kind
from ingestion.schema_sql import DUCKDB, Dialect
from ingestion.sources import Source
from ingestion.warehouse import ensure_audit_tables

LINEAGE_DDL = """_file_id VARCHAR NOT NULL,
  _position BIGINT NOT NULL,
  _partition VARCHAR,
  _extracted_at TIMESTAMPTZ,
  _row_hash UBIGINT NOT NULL,
  _loaded_at TIMESTAMPTZ NOT NULL,
  _erased_at TIMESTAMPTZ"""  # set when the row is redacted for an erasure (erasure/redact.py): it keeps its key only
# Compressed files expand several times; the batch bound is on the text the database will see.
EXPANSION = {".gz": 8}
BATCH_BYTES = 384 * 2**20
TEMP_TABLES = ("staged", "classified", "batch_files")
# A row's place in its batch: file * 2^32 + position, as positions (lines, rows) stay within the reader's limit.
ROW_PLACE_FILE_STEP = 2**32
assert readers.MAX_FILE_ROWS + 1 < ROW_PLACE_FILE_STEP


@dataclass
class FileResult:
    source: str
    path: str
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    seconds: float = 0.0
    detail: str | None = None
    partition: str | None = None  # the file's daily partition, for a partitioned source

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class ReadFile:
    """One landing file as read before its batch's transaction (reading writes nothing)."""

    file: LandingFile
    file_id: str  # sha256 of the content
    read: readers.ReadResult | None
    unreadable: readers.UnreadableFile | None


def partition_of(source: Source, f: LandingFile) -> str | None:
    return f.partition if source.partitioned else None


def quote(name: str) -> str:
    return json.dumps(name)


def read_regular_file(path: Path) -> bytes:
    """The bytes of a regular file, read from one descriptor: O_NOFOLLOW, so a file swapped for a link since
    discovery fails with ELOOP instead of being followed, and checked with fstat, so a FIFO or device is
    never read. The readers parse these bytes; nothing opens the path by name again."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise readers.UnreadableFile("not_a_regular_file", "not a regular file: symbolic link") from exc
        raise
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise readers.UnreadableFile("not_a_regular_file", f"not a regular file: {entry_kind(info.st_mode)}")
        if info.st_size > readers.MAX_FILE_BYTES:
            raise readers.UnreadableFile("file_too_large", f"{info.st_size} bytes, over the limit of {readers.MAX_FILE_BYTES}")
        return fh.read()


def not_read(f: LandingFile, error: readers.UnreadableFile) -> ReadFile:
    """Recorded without its content; its id names the entry, so two refused links are two refusals."""
    file_id = hashlib.sha256(f"unread:{f.relative}:{f.modified_ns}".encode()).hexdigest()
    return ReadFile(f, file_id, None, error)


def read_file(source: Source, f: LandingFile) -> ReadFile:
    if f.refusal is not None:
        return not_read(f, readers.UnreadableFile("not_a_regular_file", f.refusal))
    try:
        content = read_regular_file(f.path)
    except readers.UnreadableFile as exc:
        return not_read(f, exc)
    file_id = hashlib.sha256(content).hexdigest()
    try:
        return ReadFile(f, file_id, readers.read(f, content, source.schema, source.fold_extra_columns_into), None)
    except readers.UnreadableFile as exc:
        return ReadFile(f, file_id, None, exc)


def batches(files: list[LandingFile], limit: int = BATCH_BYTES) -> Iterator[list[LandingFile]]:
    """Consecutive files whose expanded size stays under `limit` (a bigger file is a batch of its own)."""
    batch: list[LandingFile] = []
    size = 0
    for f in files:
        expanded = f.size * EXPANSION.get(f.path.suffix.lower(), 1)
        if batch and size + expanded > limit:
            yield batch
            batch, size = [], 0
        batch.append(f)
        size += expanded
    if batch:
        yield batch


def unaccounted(files: list[LandingFile], known: set[tuple[str, int, int]], refused: set[str]) -> list[LandingFile]:
    """The files the ledger has not accounted for: not known by (path, size, mtime), and not an entry refused
    before by its path (a refused entry is refused once: a FIFO's mtime moves whenever someone writes to it)."""
    return [f for f in files if (f.relative, f.size, f.modified_ns) not in known
            and not (f.refusal is not None and f.relative in refused)]


def load_isolated(source: Source, batch: list, load: Callable[[list], list[FileResult]],
                  landing_file: Callable[[object], LandingFile]) -> list[FileResult]:
    """`load` the batch; if it fails with an unexpected error, each file on its own, so one broken file never
    blocks the others. A file that still fails is not written to the ledger, so the next run tries it again;
    callers fail the run when any result has status "failed"."""
    try:
        return load(batch)
    except Exception as exc:  # noqa: BLE001 - one broken file must not block the others
        if len(batch) > 1:
            return [r for one in batch for r in load_isolated(source, [one], load, landing_file)]
        f = landing_file(batch[0])
        return [FileResult(source.name, f.relative, "failed", detail=f"{type(exc).__name__}: {exc}"[:2000],
                           partition=partition_of(source, f))]


def classify_files(source: Source, batch: list[ReadFile], known: list[tuple[str, str, str]]) -> tuple[list[FileResult], list[int]]:
    """What becomes of each file of a batch before its rows are looked at, from the ledger entries (path,
    file_id, status) of the same contents: the results so far, and the indexes of the files whose rows load.
    Both engines' loaders decide with this."""
    results = [FileResult(source.name, item.file.relative, "loaded", partition=partition_of(source, item.file))
               for item in batch]
    same_path = {(path, file_id) for path, file_id, _ in known}
    # An unchanged table extracted again is a new extract (its stamp matters), so content
    # deduplication applies to append sources only.
    first_path = {}
    if source.mode == "append":
        first_path = {file_id: path for path, file_id, status in sorted(known) if status in ("loaded", "superseded")}
    to_load: list[int] = []
    for index, item in enumerate(batch):
        result = results[index]
        if (item.file.relative, item.file_id) in same_path:
            # Touched or copied over with identical bytes: already accounted for.
            result.status = "already_loaded"
        elif item.file_id in first_path:
            result.status, result.detail = "duplicate_content", f"same content as {first_path[item.file_id]}"
        elif item.unreadable is not None:
            result.status, result.detail = "rejected", item.unreadable.detail
            result.rows_read = result.rows_quarantined = 1
        else:
            to_load.append(index)
            if source.mode == "append":
                first_path[item.file_id] = item.file.relative  # the same bytes again later in the batch
    return results, to_load


def ledger_row(source: Source, item: ReadFile, result: FileResult, now: datetime) -> list:
    """A file's audit.ingested_files entry, its columns in table order."""
    f = item.file
    duplicate_of = result.detail.removeprefix("same content as ") if result.status == "duplicate_content" else None
    return [
        source.name, f.relative, item.file_id, partition_of(source, f), f.size, f.modified_ns,
        f.stamp if source.mode == "snapshot" else None, result.status, result.detail, duplicate_of,
        result.rows_read, result.rows_loaded, result.rows_quarantined, result.rows_duplicate,
        datetime.fromtimestamp(f.changed_ns / 1e9, UTC), now, result.seconds,
    ]


def classify_rows_sql(source: Source, dialect: Dialect) -> str:
    """(_file, position, _row_hash, outcome) of the valid rows of `staged`: load, duplicate or conflict.

    Narrow on purpose (no raw text): the first row of a key in the batch (files in order) wins; a later row
    with the same content is a duplicate, with other content a conflict, and so is a row whose key an earlier
    load holds (append sources). A row's place in the batch is one integer (file, then line: lines stay below
    2^32), far cheaper to take the minimum of than a (file, position) struct."""
    key = ", ".join(dialect.ident(k) for k in source.key)
    data_columns = [dialect.ident(n) for n in [*source.schema.field_names, *source.derived]]
    compared = [dialect.ident(c) for c in source.compare] if source.compare else data_columns
    if source.mode == "append":
        existing = f"LEFT JOIN (SELECT {key}, _row_hash AS existing_hash FROM {source.table}) AS e USING ({key})"
        existing_hash = "e.existing_hash"
    else:
        existing, existing_hash = "", "NULL"
    return f"""
        WITH hashed AS (
            SELECT _file, position, {key}, {dialect.row_hash(compared)} AS _row_hash,
                _file * {ROW_PLACE_FILE_STEP} + position AS place
            FROM staged WHERE reason IS NULL
        ), firsts AS (
            SELECT {key}, min(place) AS first_place, min_by(_row_hash, place) AS first_hash FROM hashed GROUP BY ALL
        )
        SELECT h._file, h.position, h._row_hash, CASE
            WHEN {existing_hash} IS NOT NULL AND {existing_hash} = h._row_hash THEN 'duplicate'
            WHEN {existing_hash} IS NOT NULL THEN 'conflict'
            WHEN h.place <> f.first_place AND f.first_hash = h._row_hash THEN 'duplicate'
            WHEN h.place <> f.first_place THEN 'conflict'
            ELSE 'load' END AS outcome
        FROM hashed AS h JOIN firsts AS f USING ({key}) {existing}"""


def raw_table_ddl(source: Source) -> str:
    """The raw table of a source in DuckDB; the Spark raw layer takes its columns from this too."""
    derived = "".join(f",\n  {quote(name)} VARCHAR" for name in source.derived)
    return f"CREATE TABLE IF NOT EXISTS {source.table} (\n  {source.schema.columns_ddl()}{derived},\n  {LINEAGE_DDL}\n)"


class LoadSettings:
    """What a load of the landing zone is tuned by, on either engine."""

    def __init__(
        self,
        landing: Path,
        now: datetime | None = None,
        max_row_bytes: int = 1_000_000,
        future_tolerance: timedelta = timedelta(days=1),
        raw_kept_bytes: int = 65_536,
        batch_bytes: int = BATCH_BYTES,
    ):
        self.landing = landing
        self.now = now or datetime.now(UTC)
        self.max_row_bytes = max_row_bytes
        self.future_tolerance = future_tolerance
        self.raw_kept_bytes = raw_kept_bytes
        self.batch_bytes = batch_bytes


class Loader(LoadSettings):
    def __init__(self, con: duckdb.DuckDBPyConnection, landing: Path, **settings):
        super().__init__(landing, **settings)
        self.con = con
        ensure_audit_tables(con)

    # --- tables -------------------------------------------------------------------------
    def ensure_table(self, source: Source) -> None:
        self.con.execute(raw_table_ddl(source))
        # Tables of warehouses built before rows could be redacted.
        self.con.execute(f"ALTER TABLE {source.table} ADD COLUMN IF NOT EXISTS _erased_at TIMESTAMPTZ")

    def _data_columns(self, source: Source) -> list[str]:
        return [quote(n) for n in source.schema.field_names] + [quote(n) for n in source.derived]

    # --- discovery ----------------------------------------------------------------------
    def pending(self, source: Source, partitions: set[str] | None = None) -> list[LandingFile]:
        """Complete files of the source that the ledger has not accounted for yet."""
        known = set(
            self.con.execute(
                "SELECT path, size_bytes, modified_ns FROM audit.ingested_files WHERE source = ?", [source.name]
            ).fetchall()
        )
        refused = {path for (path,) in self.con.execute(
            "SELECT path FROM audit.ingested_files WHERE source = ? AND status = 'rejected' "
            "AND status_detail LIKE 'not a regular file%'", [source.name]).fetchall()}
        return unaccounted(discover(self.landing, source.folder, partitions), known, refused)

    def load_source(
        self,
        source: Source,
        partitions: set[str] | None = None,
        on_file: Callable[[FileResult], None] | None = None,
    ) -> list[FileResult]:
        self.ensure_table(source)
        files = self.pending(source, partitions)
        # Each extract of a snapshot source replaces the table: one at a time, in order.
        groups = [[f] for f in files] if source.mode == "snapshot" else list(batches(files, self.batch_bytes))
        results: list[FileResult] = []
        with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
            def start(group: list[LandingFile]) -> list[Future]:
                return [pool.submit(read_file, source, f) for f in group]

            upcoming = start(groups[0]) if groups else []
            for index, group in enumerate(groups):
                reading, upcoming = upcoming, start(groups[index + 1]) if index + 1 < len(groups) else []
                batch = [future.result() for future in reading]
                for result in self._load_isolated(source, batch):
                    results.append(result)
                    if on_file:
                        on_file(result)
                del batch
        return results

    def load_file(self, source: Source, f: LandingFile) -> FileResult:
        self.ensure_table(source)
        [result] = self._load_isolated(source, [read_file(source, f)])
        return result

    def _load_isolated(self, source: Source, batch: list[ReadFile]) -> list[FileResult]:
        return load_isolated(source, batch, lambda part: self.load_batch(source, part), lambda item: item.file)

    # --- one batch, one transaction -------------------------------------------------------
    def load_batch(self, source: Source, batch: list[ReadFile]) -> list[FileResult]:
        started = time.perf_counter()
        self.ensure_table(source)
        con = self.con
        con.begin()
        try:
            results = self._load_batch(source, batch)
            seconds = (time.perf_counter() - started) / max(len(batch), 1)
            for result in results:
                result.seconds = seconds
            self._ledger(source, batch, results)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            for temp in TEMP_TABLES:
                con.execute(f"DROP TABLE IF EXISTS temp.{temp}")
            for view in ("incoming_arrow", "batch_files_arrow", "reject_arrow"):
                try:
                    con.unregister(view)
                except Exception:  # noqa: BLE001 - not registered in this batch
                    pass
        return results

    def _load_batch(self, source: Source, batch: list[ReadFile]) -> list[FileResult]:
        con = self.con
        known = con.execute(
            "SELECT path, file_id, status FROM audit.ingested_files WHERE source = ? AND file_id IN (SELECT unnest(?))",
            [source.name, sorted({item.file_id for item in batch})]).fetchall()
        results, to_load = classify_files(source, batch, known)
        for item, result in zip(batch, results):
            if result.status == "already_loaded":
                con.execute("UPDATE audit.ingested_files SET size_bytes = ?, modified_ns = ? "
                            "WHERE source = ? AND path = ? AND file_id = ?",
                            [item.file.size, item.file.modified_ns, source.name, item.file.relative, item.file_id])
            elif result.status == "rejected":
                reject = readers.Reject(0, "", item.file.size, item.unreadable.reason, item.unreadable.detail)
                self._quarantine_rejects(source, item, [reject])
        if to_load:
            self._load_rows(source, [batch[i] for i in to_load], [results[i] for i in to_load])
        return results

    def _load_rows(self, source: Source, batch: list[ReadFile], results: list[FileResult]) -> None:
        con = self.con
        files = pa.table({
            "_file": pa.array(range(len(batch)), pa.int32()),
            "file_id": [item.file_id for item in batch],
            "path": [item.file.relative for item in batch],
            "_partition": [partition_of(source, item.file) for item in batch],
            "_extracted_at": pa.array([item.file.stamp for item in batch], pa.timestamp("us", tz="UTC")),
        })
        con.register("batch_files_arrow", files)
        con.execute("CREATE TEMP TABLE batch_files AS SELECT * FROM batch_files_arrow")
        incoming = pa.concat_tables([
            item.read.rows.add_column(0, "_file", pa.array(np.full(item.read.rows.num_rows, i, np.int32)))
            for i, item in enumerate(batch)])
        con.register("incoming_arrow", incoming)

        derived = "".join(f", CAST({expr} AS VARCHAR) AS {quote(name)}" for name, expr in source.derived_sql("duckdb").items())
        kept = self.raw_kept_bytes
        # The text of a valid row is not kept: only quarantined rows need it.
        con.execute(
            f"CREATE TEMP TABLE staged AS SELECT * EXCLUDE (raw), CASE WHEN reason IS NOT NULL THEN left(raw, {kept}) END AS raw,"
            f" CASE WHEN reason IS NOT NULL THEN strlen(raw) END AS raw_bytes{derived}, f._extracted_at FROM ("
            f"{source.schema.validate_sql('incoming_arrow', source.max_row_bytes or self.max_row_bytes, self.now + self.future_tolerance)}) s"
            f" JOIN batch_files AS f USING (_file)"
        )
        for condition, reason, detail in source.rules:
            con.execute(f"UPDATE staged SET reason = '{reason}', detail = {detail} WHERE reason IS NULL AND ({condition})")

        columns = self._data_columns(source)
        con.execute(f"CREATE TEMP TABLE classified AS {classify_rows_sql(source, DUCKDB)}")

        counts = con.execute("""
            SELECT _file, count(*) FILTER (WHERE outcome = 'load'), count(*) FILTER (WHERE outcome = 'duplicate'),
                count(*) FILTER (WHERE outcome = 'conflict')
            FROM classified GROUP BY ALL""").fetchall()
        invalid = dict(con.execute("SELECT _file, count(*) FROM staged WHERE reason IS NOT NULL GROUP BY ALL").fetchall())
        by_file = {f: (load, dup, conflict) for f, load, dup, conflict in counts}
        for i, (item, result) in enumerate(zip(batch, results)):
            load, dup, conflict = by_file.get(i, (0, 0, 0))
            result.rows_read = item.read.rows.num_rows + len(item.read.rejects)
            result.rows_loaded, result.rows_duplicate = load, dup
            result.rows_quarantined = invalid.get(i, 0) + conflict + len(item.read.rejects)

        replace = True
        if source.mode == "snapshot":
            [item], [result] = batch, results
            # The newest extract loaded so far, by the ledger (its rows may all have been invalid).
            current = con.execute(
                "SELECT max(extracted_at) FROM audit.ingested_files WHERE source = ? AND status = 'loaded'", [source.name]
            ).fetchone()[0]
            replace = current is None or item.file.stamp >= current
            if replace:
                con.execute(f"DELETE FROM {source.table}")
                con.execute("UPDATE audit.ingested_files SET status = 'superseded', status_detail = ? "
                            "WHERE source = ? AND status = 'loaded'", [f"replaced by {item.file.relative}", source.name])
            else:
                result.status, result.detail = "superseded", "an extract with a newer stamp is already loaded"

        if replace:
            con.execute(
                f"INSERT INTO {source.table} ({', '.join(columns)}, _file_id, _position, _partition, _extracted_at, _row_hash, _loaded_at) "
                f"SELECT {', '.join(columns)}, f.file_id, position, f._partition, staged._extracted_at, c._row_hash, ? "
                f"FROM staged JOIN classified AS c USING (_file, position) JOIN batch_files AS f USING (_file) "
                f"WHERE outcome = 'load'",
                [self.now],
            )
        con.execute(
            f"""INSERT INTO audit.quarantine
            SELECT ?, f.file_id, f.path, position, reason, detail, raw, raw_bytes, ?
            FROM staged JOIN batch_files AS f USING (_file) WHERE reason IS NOT NULL
            UNION ALL
            SELECT ?, f.file_id, f.path, position, 'duplicate_key_conflict',
                   'key ({', '.join(source.key)}) already seen with different content', left(i.raw, {kept}), strlen(i.raw), ?
            FROM classified JOIN batch_files AS f USING (_file) JOIN incoming_arrow AS i USING (_file, position)
            WHERE outcome = 'conflict'""",
            [source.name, self.now] * 2,
        )
        for item in batch:
            self._quarantine_rejects(source, item, item.read.rejects)

    def _quarantine_rejects(self, source: Source, item: ReadFile, rejects: list[readers.Reject]) -> None:
        if not rejects:
            return
        table = pa.table({
            "position": [r.position for r in rejects],
            "reason": [r.reason for r in rejects],
            "detail": [r.detail for r in rejects],
            "raw": [r.raw[: self.raw_kept_bytes] for r in rejects],
            "raw_bytes": [r.raw_bytes for r in rejects],
        })
        self.con.register("reject_arrow", table)
        try:
            self.con.execute(
                "INSERT INTO audit.quarantine SELECT ?, ?, ?, position, reason, detail, raw, raw_bytes, ? FROM reject_arrow",
                [source.name, item.file_id, item.file.relative, self.now],
            )
        finally:
            self.con.unregister("reject_arrow")

    def _ledger(self, source: Source, batch: list[ReadFile], results: list[FileResult]) -> None:
        rows = [ledger_row(source, item, r, self.now) for item, r in zip(batch, results) if r.status != "already_loaded"]
        if rows:
            self.con.executemany(
                "INSERT OR REPLACE INTO audit.ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
