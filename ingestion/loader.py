"""Exactly-once loading of landing files into raw tables.

One file is one DuckDB transaction: its good rows, its quarantined rows and its ledger
entry (audit.ingested_files) commit together or not at all. A process killed mid-file
leaves no trace of that file, and the next run loads it again from the start.

Exactly once, at three levels:
- a path already in the ledger with the same size and mtime is not read again;
- the same content under another name (sha256) is recorded as duplicate_content;
- rows are deduplicated by the source's key across every file ever loaded; a repeated
  key with different content is quarantined as a conflict instead of being guessed at.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable

import duckdb
import pyarrow as pa

from ingestion import readers
from ingestion.landing_files import LandingFile, discover
from ingestion.sources import Source
from ingestion.warehouse import ensure_audit_tables

LINEAGE_DDL = """_file_id VARCHAR NOT NULL,
  _position BIGINT NOT NULL,
  _partition VARCHAR,
  _extracted_at TIMESTAMPTZ,
  _row_hash UBIGINT NOT NULL,
  _loaded_at TIMESTAMPTZ NOT NULL"""


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

    def as_dict(self) -> dict:
        return asdict(self)


def quote(name: str) -> str:
    return json.dumps(name)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Loader:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        landing: Path,
        now: datetime | None = None,
        max_row_bytes: int = 1_000_000,
        future_tolerance: timedelta = timedelta(days=1),
        raw_kept_bytes: int = 65_536,
    ):
        self.con = con
        self.landing = landing
        self.now = now or datetime.now(UTC)
        self.max_row_bytes = max_row_bytes
        self.future_tolerance = future_tolerance
        self.raw_kept_bytes = raw_kept_bytes
        ensure_audit_tables(con)

    # --- tables -------------------------------------------------------------------------
    def ensure_table(self, source: Source) -> None:
        derived = "".join(f",\n  {quote(name)} VARCHAR" for name in source.derived)
        self.con.execute(
            f"CREATE TABLE IF NOT EXISTS {source.table} (\n  {source.schema.columns_ddl()}{derived},\n  {LINEAGE_DDL}\n)"
        )

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
        files = discover(self.landing, source.folder, partitions)
        return [f for f in files if (f.relative, f.size, f.modified_ns) not in known]

    def load_source(
        self,
        source: Source,
        partitions: set[str] | None = None,
        on_file: Callable[[FileResult], None] | None = None,
    ) -> list[FileResult]:
        self.ensure_table(source)
        results = []
        for f in self.pending(source, partitions):
            try:
                result = self.load_file(source, f)
            except Exception as exc:  # noqa: BLE001 - one broken file must not block the others
                # Not written to the ledger, so the next run tries the file again; callers
                # fail the run when any result has status "failed".
                result = FileResult(source.name, f.relative, "failed", detail=f"{type(exc).__name__}: {exc}"[:2000])
            results.append(result)
            if on_file:
                on_file(result)
        return results

    # --- one file, one transaction ------------------------------------------------------
    def load_file(self, source: Source, f: LandingFile) -> FileResult:
        started = time.perf_counter()
        file_id = sha256_file(f.path)
        self.ensure_table(source)
        con = self.con
        # Read before the transaction: reading writes nothing, and a read error inside the
        # transaction would abort it before the file could be recorded as rejected.
        try:
            read, unreadable = readers.read(f, source.schema, con, source.fold_extra_columns_into), None
        except readers.UnreadableFile as exc:
            read, unreadable = None, exc
        con.begin()
        try:
            same_file = con.execute(
                "SELECT status FROM audit.ingested_files WHERE source = ? AND path = ? AND file_id = ?",
                [source.name, f.relative, file_id],
            ).fetchone()
            if same_file:
                # Touched or copied over with identical bytes: already accounted for.
                con.execute(
                    "UPDATE audit.ingested_files SET size_bytes = ?, modified_ns = ? WHERE source = ? AND path = ? AND file_id = ?",
                    [f.size, f.modified_ns, source.name, f.relative, file_id],
                )
                con.commit()
                return FileResult(source.name, f.relative, "already_loaded", seconds=time.perf_counter() - started)
            # An unchanged table extracted again is a new extract (its stamp matters), so
            # content deduplication applies to append sources only.
            loaded_before = source.mode == "append" and con.execute(
                "SELECT path FROM audit.ingested_files WHERE source = ? AND file_id = ? "
                "AND status IN ('loaded', 'superseded') ORDER BY loaded_at LIMIT 1",
                [source.name, file_id],
            ).fetchone()
            if loaded_before:
                result = FileResult(source.name, f.relative, "duplicate_content", detail=f"same content as {loaded_before[0]}")
                self._ledger(source, f, file_id, result, started, duplicate_of=loaded_before[0])
            else:
                result = self._load_rows(source, f, file_id, started, read, unreadable)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            for temp in ("incoming", "staged", "classified"):
                con.execute(f"DROP TABLE IF EXISTS temp.{temp}")
            try:
                con.unregister("incoming_arrow")
            except Exception:
                pass
        result.seconds = time.perf_counter() - started
        return result

    def _load_rows(self, source: Source, f: LandingFile, file_id: str, started: float,
                   read: readers.ReadResult | None, unreadable: readers.UnreadableFile | None) -> FileResult:
        con = self.con
        result = FileResult(source.name, f.relative, "loaded")
        if unreadable is not None:
            exc = unreadable
            result.status, result.detail = "rejected", exc.detail
            result.rows_read = result.rows_quarantined = 1
            self._quarantine_rejects(source, f, file_id, [readers.Reject(0, "", f.size, exc.reason, exc.detail)])
            self._ledger(source, f, file_id, result, started)
            return result

        con.register("incoming_arrow", read.rows)
        con.execute("CREATE TEMP TABLE incoming AS SELECT position, CAST(raw AS VARCHAR) AS raw FROM incoming_arrow")

        max_future = f"TIMESTAMPTZ '{(self.now + self.future_tolerance).isoformat()}'"
        derived = "".join(f", CAST({expr} AS VARCHAR) AS {quote(name)}" for name, expr in source.derived.items())
        con.execute(
            f"CREATE TEMP TABLE staged AS SELECT *{derived}, TIMESTAMPTZ '{f.stamp.isoformat()}' AS _extracted_at FROM ("
            f"{source.schema.validate_sql('incoming', self.max_row_bytes, max_future)}) s"
        )
        for condition, reason, detail in source.rules:
            con.execute(f"UPDATE staged SET reason = '{reason}', detail = {detail} WHERE reason IS NULL AND ({condition})")

        columns = self._data_columns(source)
        key = ", ".join(quote(k) for k in source.key)
        compared = [quote(c) for c in source.compare] if source.compare else columns
        if source.mode == "append":
            existing = f"LEFT JOIN (SELECT {key}, _row_hash AS existing_hash FROM {source.table}) e USING ({key})"
            existing_hash = "e.existing_hash"
        else:
            existing, existing_hash = "", "NULL"
        # Narrow on purpose (no raw text): the first row of a key in the file wins; a later
        # row with the same content is a duplicate, with other content a conflict.
        con.execute(f"""
            CREATE TEMP TABLE classified AS
            WITH hashed AS (
                SELECT position, {key}, hash({', '.join(compared)}) AS _row_hash FROM staged WHERE reason IS NULL
            ), firsts AS (
                SELECT {key}, min(position) AS first_position, arg_min(_row_hash, position) AS first_hash
                FROM hashed GROUP BY ALL
            )
            SELECT h.position, h._row_hash, CASE
                WHEN {existing_hash} IS NOT NULL AND {existing_hash} = h._row_hash THEN 'duplicate'
                WHEN {existing_hash} IS NOT NULL THEN 'conflict'
                WHEN h.position <> f.first_position AND f.first_hash = h._row_hash THEN 'duplicate'
                WHEN h.position <> f.first_position THEN 'conflict'
                ELSE 'load' END AS outcome
            FROM hashed h JOIN firsts f USING ({key}) {existing}""")

        counts = dict(con.execute("SELECT outcome, count(*) FROM classified GROUP BY ALL").fetchall())
        invalid = con.execute("SELECT count(*) FROM staged WHERE reason IS NOT NULL").fetchone()[0]
        read_count = con.execute("SELECT count(*) FROM incoming").fetchone()[0]
        result.rows_read = read_count + len(read.rejects)
        result.rows_loaded = counts.get("load", 0)
        result.rows_duplicate = counts.get("duplicate", 0)
        result.rows_quarantined = invalid + counts.get("conflict", 0) + len(read.rejects)

        replace = True
        if source.mode == "snapshot":
            # The newest extract loaded so far, by the ledger (its rows may all have been invalid).
            current = con.execute(
                "SELECT max(extracted_at) FROM audit.ingested_files WHERE source = ? AND status = 'loaded'", [source.name]
            ).fetchone()[0]
            replace = current is None or f.stamp >= current
            if replace:
                con.execute(f"DELETE FROM {source.table}")
                con.execute("UPDATE audit.ingested_files SET status = 'superseded', status_detail = ? "
                            "WHERE source = ? AND status = 'loaded'", [f"replaced by {f.relative}", source.name])
            else:
                result.status, result.detail = "superseded", "an extract with a newer stamp is already loaded"

        if replace:
            con.execute(
                f"INSERT INTO {source.table} ({', '.join(columns)}, _file_id, _position, _partition, _extracted_at, _row_hash, _loaded_at) "
                f"SELECT {', '.join(columns)}, ?, position, ?, _extracted_at, _row_hash, ? "
                f"FROM staged JOIN classified USING (position) WHERE outcome = 'load'",
                [file_id, f.partition if source.partitioned else None, self.now],
            )
        kept = self.raw_kept_bytes
        con.execute(
            f"""INSERT INTO audit.quarantine
            SELECT ?, ?, ?, position, reason, detail, left(raw, {kept}), strlen(raw), ? FROM staged WHERE reason IS NOT NULL
            UNION ALL
            SELECT ?, ?, ?, position, 'duplicate_key_conflict',
                   'key ({', '.join(source.key)}) already seen with different content', left(raw, {kept}), strlen(raw), ?
            FROM staged JOIN classified USING (position) WHERE outcome = 'conflict'""",
            [source.name, file_id, f.relative, self.now] * 2,
        )
        self._quarantine_rejects(source, f, file_id, read.rejects)
        self._ledger(source, f, file_id, result, started)
        return result

    def _quarantine_rejects(self, source: Source, f: LandingFile, file_id: str, rejects: Iterable[readers.Reject]) -> None:
        rejects = list(rejects)
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
                [source.name, file_id, f.relative, self.now],
            )
        finally:
            self.con.unregister("reject_arrow")

    def _ledger(self, source: Source, f: LandingFile, file_id: str, r: FileResult, started: float,
                duplicate_of: str | None = None) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO audit.ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source.name, f.relative, file_id, f.partition if source.partitioned else None, f.size, f.modified_ns,
                f.stamp if source.mode == "snapshot" else None, r.status, r.detail, duplicate_of,
                r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate,
                datetime.fromtimestamp(f.changed_ns / 1e9, UTC), self.now, time.perf_counter() - started,
            ],
        )
