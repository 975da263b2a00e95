"""The versioned card snapshot store: one SQLite database the publisher writes and servers read.

Layout (`<cards root>/cards.sqlite`, WAL mode):
- documents: content-addressed gzipped bodies; digest = hex sha256 of the uncompressed bytes (the ETag).
- entries: temporal rows; a member's document in version v is the row with
  from_version <= v and (to_version IS NULL OR to_version > v).
- versions: one row per publish; current: the single row naming the version being served.

A publish is one write transaction that ends by updating `current`, so the switch is atomic and a
failed or killed publish leaves the previous version serving. A reader resolves `current`, the entry
and the document in one SELECT (one read transaction), so it sees the old set or the new one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, Self

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from isal import igzip

from ingestion.durable import immediate_transaction, open_sqlite_writer
from publishing.streams import chunks

DATABASE_NAME = "cards.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    digest TEXT PRIMARY KEY,
    body_gzip BLOB NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    brand_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    digest TEXT NOT NULL,
    from_version INTEGER NOT NULL,
    to_version INTEGER NULL,
    -- 64-bit hash of the document without generated_at: what "changed" compares
    content_digest TEXT NOT NULL,
    -- digest of what the document was built from (null when its relation has none): what is built again
    inputs_digest TEXT NULL,
    PRIMARY KEY (brand_id, user_id, from_version)
);
-- No index on entries.digest: a digest is random, so keeping one rewrote a page picked at random for every document
-- stored (a second of a 1M-member publish with 5% changed). Garbage collection reads the entries once instead.
CREATE INDEX IF NOT EXISTS entries_by_to_version ON entries (to_version);
CREATE TABLE IF NOT EXISTS versions (
    version INTEGER PRIMARY KEY,
    published_at TEXT NOT NULL,
    members INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    bytes_written INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS current (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
"""

# current, entry and document in one statement = one read transaction = one consistent version.
_GET_CURRENT_DOCUMENT = """
SELECT c.version, d.digest, d.body_gzip, d.size
FROM current AS c
JOIN entries AS e
  ON e.brand_id = ? AND e.user_id = ?
 AND e.from_version <= c.version AND (e.to_version IS NULL OR e.to_version > c.version)
JOIN documents AS d ON d.digest = e.digest
WHERE c.id = 1
"""


def database_path(root: Path) -> Path:
    return Path(root) / DATABASE_NAME


class DocumentValidator(Protocol):
    """Checks the documents a publish stores (publishing.validation.BackgroundValidator)."""

    def submit(self, documents: list[tuple[int, int, bytes]]) -> None: ...

    def finish(self) -> int: ...


@dataclass(frozen=True)
class StoredDocument:
    version: int
    digest: str  # hex sha256 of the uncompressed bytes; serve as ETag '"<digest>"'
    body_gzip: bytes
    size: int  # uncompressed length

    def body(self) -> bytes:
        return gzip.decompress(self.body_gzip)


class StoreUnreadable(Exception):
    """The store file exists but cannot be read (corrupt, not a database)."""


class CardStoreReader:
    """Read-only access for any number of threads: one read-only connection per thread.

    A store that does not exist yet (nothing published) reads as empty: get() returns None and
    current_version() returns None; the connection is retried on the next call. A store file that
    is replaced or deleted while it is open is noticed on the next read (by its inode), so the
    reader follows the file at the path, never an unlinked one. A store that cannot be read raises
    StoreUnreadable, and is opened again on the next call.
    """

    def __init__(self, root: Path):
        self._path = database_path(root)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._closed = False

    def get(self, brand_id: int, user_id: int) -> StoredDocument | None:
        row = self._query_one(_GET_CURRENT_DOCUMENT, (brand_id, user_id))
        return None if row is None else StoredDocument(version=row[0], digest=row[1], body_gzip=row[2], size=row[3])

    def current_version(self) -> int | None:
        row = self._query_one("SELECT version FROM current WHERE id = 1", ())
        return None if row is None else row[0]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()

    def _query_one(self, sql: str, params: tuple) -> tuple | None:
        connection = self._connection()
        if connection is None:
            return None
        try:
            return connection.execute(sql, params).fetchone()
        except sqlite3.DatabaseError as error:
            # The publisher creates the file before its schema commits: no tables yet = nothing published.
            if "no such table" in str(error):
                return None
            self._drop_connection()
            raise StoreUnreadable(f"{self._path.name}: {error}") from error

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def _connection(self) -> sqlite3.Connection | None:
        identity = self._file_identity()
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            if identity == self._local.identity:
                return connection
            self._drop_connection()  # replaced or deleted since it was opened
        if identity is None:
            return None
        try:
            # check_same_thread=False only so close() can close every thread's connection; each
            # connection is still used by the one thread that opened it.
            connection = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=ro", uri=True, timeout=30,
                                         check_same_thread=False, isolation_level=None)
        except sqlite3.OperationalError as error:
            if self._file_identity() is None:
                return None  # removed between the stat and the open
            raise StoreUnreadable(f"{self._path.name}: {error}") from error  # a directory, no permission, I/O error
        with self._lock:
            if self._closed:
                connection.close()
                raise RuntimeError("CardStoreReader is closed")
            self._close_connections_of_finished_threads()
            self._connections[threading.current_thread()] = connection
        self._local.connection, self._local.identity = connection, identity
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            return
        with self._lock:
            self._connections.pop(threading.current_thread(), None)
        connection.close()
        self._local.connection = None

    def _close_connections_of_finished_threads(self) -> None:
        """Thread pools come and go; their connections should not accumulate (caller holds the lock)."""
        for thread in [thread for thread in self._connections if not thread.is_alive()]:
            self._connections.pop(thread).close()


@dataclass(frozen=True)
class PublishResult:
    version: int
    members: int  # members in the published set
    built: int  # members whose document was read from the relation: those whose inputs changed, or all
    changed: int  # members whose document was (re)written: new or changed apart from generated_at
    removed: int  # members absent from the new set (their entry closed)
    erased: int  # members whose every version was deleted
    bytes_written: int  # gzipped bytes of newly stored documents
    seconds: float


@dataclass(frozen=True)
class GcResult:
    oldest_retained_version: int | None
    versions_dropped: int
    entries_deleted: int
    documents_deleted: int
    seconds: float


class CardStoreWriter:
    """The single publisher. Every publish and every collection is one write transaction."""

    def __init__(self, root: Path, *, chunk_size: int = 5_000, cache_mib: int = 256):
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        self._chunk_size = chunk_size
        self._connection = open_sqlite_writer(database_path(root))
        # A big publish grows the WAL; cut it back after checkpoints instead of keeping its peak size.
        self._connection.execute(f"PRAGMA journal_size_limit = {64 * 2**20}")
        # Page cache; a transaction bigger than this spills its pages into the WAL before commit.
        self._connection.execute(f"PRAGMA cache_size = -{cache_mib * 1024}")  # negative = KiB
        with self._transaction():
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._connection.execute(statement)
            columns = {row[1] for row in self._connection.execute("PRAGMA table_info(entries)")}
            if "inputs_digest" not in columns:  # a store from before inputs digests: every document is built once
                self._connection.execute("ALTER TABLE entries ADD COLUMN inputs_digest TEXT NULL")
            self._connection.execute("DROP INDEX IF EXISTS entries_by_digest")  # a store from before: see SCHEMA

    def publish(self, documents: Iterable[tuple[int, int, bytes]], *, erased: Iterable[tuple[int, int]] = (),
                published_at: datetime | None = None, validator: DocumentValidator | None = None) -> PublishResult:
        """Publish the complete set of (brand_id, user_id, document bytes) as the next version.

        Only members whose document changed (ignoring generated_at) get a new entry and document;
        members missing from the set get their entry closed; erased members lose every version.
        Nothing is visible to readers until the final commit switches `current`. A `validator` gets every
        document the publish stores, and its verdict is awaited before that switch.
        """
        with duckdb.connect() as con:  # the set, staged where it can be diffed as a whole
            con.execute("CREATE TABLE documents (brand_id BIGINT, user_id BIGINT, document VARCHAR)")
            for chunk in chunks(documents, self._chunk_size):
                con.register("_chunk", pa.table({
                    "brand_id": pa.array([int(b) for b, _, _ in chunk], pa.int64()),
                    "user_id": pa.array([int(u) for _, u, _ in chunk], pa.int64()),
                    "document": pa.array([d.decode() if isinstance(d, bytes) else d for _, _, d in chunk], pa.string())}))
                con.execute("INSERT INTO documents SELECT * FROM _chunk")
                con.unregister("_chunk")
            return self.publish_relation(con, "documents", erased=erased, published_at=published_at,
                                         validator=validator)

    def publish_relation(self, con: duckdb.DuckDBPyConnection, relation: str, *,
                         erased: Iterable[tuple[int, int]] = (), published_at: datetime | None = None,
                         validator: DocumentValidator | None = None, definition: str = "",
                         members_variable: str | None = None) -> PublishResult:
        """publish() of a DuckDB relation (brand_id, user_id, document): the set is diffed against the store
        in DuckDB, and only the changed documents are read out, hashed, compressed and stored.

        A relation with an `inputs_digest` column (a digest of what each document is built from) has its documents
        read only for the members whose digest differs from their stored document's: `definition` names how
        documents are made from their inputs (a new one builds every document again once), and `members_variable`,
        a DuckDB session variable the relation reads, is set meanwhile to the `profile_id`s of those members, so
        the relation can build their documents alone."""
        started = time.perf_counter()
        published_at = _utc(published_at or datetime.now(UTC))
        erased_members = {(int(brand_id), int(user_id)) for brand_id, user_id in erased}
        with self._transaction():
            result = self._publish(con, relation, erased_members, published_at, validator, definition,
                                   members_variable)
        self._checkpoint()
        return PublishResult(**result, seconds=round(time.perf_counter() - started, 3))

    def collect_garbage(self, retain: timedelta, keep_versions: int = 2, *, now: datetime | None = None) -> GcResult:
        """Drop versions older than `retain`, always keeping the newest `keep_versions` (at least the current)."""
        started = time.perf_counter()
        now = _utc(now or datetime.now(UTC))
        con = self._connection
        with self._transaction():
            published = con.execute("SELECT version, published_at FROM versions ORDER BY version DESC").fetchall()
            retained = [version for index, (version, at) in enumerate(published)
                        if index < max(keep_versions, 1) or datetime.fromisoformat(at) >= now - retain]
            if not retained:
                return GcResult(None, 0, 0, 0, round(time.perf_counter() - started, 3))
            oldest = min(retained)
            con.execute("CREATE TEMP TABLE candidate_digests (digest TEXT PRIMARY KEY)")
            con.execute("INSERT OR IGNORE INTO candidate_digests SELECT digest FROM entries WHERE to_version <= ?",
                        (oldest,))
            entries_deleted = con.execute("DELETE FROM entries WHERE to_version <= ?", (oldest,)).rowcount
            documents_deleted = self._delete_unreferenced_candidates()
            versions_dropped = con.execute("DELETE FROM versions WHERE version < ?", (oldest,)).rowcount
        self._checkpoint()
        return GcResult(oldest, versions_dropped, entries_deleted, documents_deleted,
                        round(time.perf_counter() - started, 3))

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- inside the publish transaction -------------------------------------------------------------

    def _publish(self, con: duckdb.DuckDBPyConnection, relation: str, erased: set[tuple[int, int]],
                 published_at: datetime, validator: DocumentValidator | None, definition: str,
                 members_variable: str | None) -> dict:
        store = self._connection
        version = store.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM versions").fetchone()[0]
        has_inputs = "inputs_digest" in {name for name, *_ in con.execute(f"DESCRIBE {relation}").fetchall()}
        con.register("_open", self._open_entries())
        con.register("_erased", pa.table([[b for b, _ in erased], [u for _, u in erased]], schema=MEMBER_KEYS))
        try:
            # The relation's members (and inputs digests) read once, before members_variable narrows it.
            inputs = ", profile_id, CAST(hash(inputs_digest, $definition) AS VARCHAR) AS inputs_digest" if has_inputs else ""
            con.execute(f"""CREATE OR REPLACE TEMP TABLE _members AS
                            SELECT brand_id, user_id{inputs} FROM {relation} ANTI JOIN _erased USING (brand_id, user_id)""",
                        {"definition": definition} if has_inputs else None)
            twice = next(iter(con.execute(
                "SELECT brand_id, user_id FROM _members GROUP BY brand_id, user_id HAVING count(*) > 1 LIMIT 1").fetchall()), None)
            if twice:
                raise ValueError(f"a member appears twice in the published set: brand {twice[0]} user {twice[1]}")
            [(members,)] = con.execute("SELECT count(*) FROM _members").fetchall()
            removed = con.execute("""
                SELECT brand_id, user_id FROM _open ANTI JOIN _members USING (brand_id, user_id)
                ANTI JOIN _erased USING (brand_id, user_id)""").fetchall()
            if has_inputs:
                # Only the members whose inputs differ from their open entry's (or who have none) are built.
                con.execute("""
                    CREATE OR REPLACE TEMP TABLE _to_build AS
                    SELECT m.* FROM _members AS m LEFT JOIN _open AS o USING (brand_id, user_id)
                    WHERE o.inputs_digest IS DISTINCT FROM m.inputs_digest""")
                [(built,)] = con.execute("SELECT count(*) FROM _to_build").fetchall()
                source = (f"(SELECT r.brand_id, r.user_id, r.document, b.inputs_digest "
                          f"FROM {relation} AS r INNER JOIN _to_build AS b USING (brand_id, user_id))")
            else:
                built = members
                source = (f"(SELECT brand_id, user_id, document, CAST(NULL AS VARCHAR) AS inputs_digest "
                          f"FROM {relation} ANTI JOIN _erased USING (brand_id, user_id))")
            # Every member built (a first publish, a new definition): the unset variable says so without a list.
            listed = members_variable if has_inputs and built < members else None
            with _hash_join_built_on_the_right(con), _members_listed(con, listed):
                # One pass over the documents read: the digest of each, and only the changed ones read out (as UTF-8
                # bytes); a document built again with the same content only has its entry's inputs digest updated.
                changed = con.sql(f"""
                    SELECT brand_id, user_id, content_digest, inputs_digest, had_entry, content_changed,
                           CASE WHEN content_changed THEN encode(document) END AS document FROM (
                        SELECT d.*, o.content_digest IS NOT NULL AS had_entry,
                               o.content_digest IS DISTINCT FROM d.content_digest AS content_changed
                        FROM (SELECT brand_id, user_id, inputs_digest, CAST(document AS VARCHAR) AS document,
                                     {CONTENT_DIGEST_SQL.format(document="CAST(document AS VARCHAR)")} AS content_digest
                              FROM {source}) AS d
                        LEFT JOIN _open AS o USING (brand_id, user_id)
                        WHERE o.content_digest IS DISTINCT FROM d.content_digest
                           OR o.inputs_digest IS DISTINCT FROM d.inputs_digest)""").to_arrow_reader(self._chunk_size)
                try:
                    changed_count, bytes_written = self._store_changed(changed, version, validator)
                finally:
                    changed.close()  # a failure midway leaves the result open, and the connection refuses any query
        finally:
            con.unregister("_open")
            con.unregister("_erased")
            con.execute("DROP TABLE IF EXISTS _members; DROP TABLE IF EXISTS _to_build")
        if validator is not None:
            validator.finish()  # raises on an invalid document: the transaction rolls back
        erased_count = self._erase(erased)
        store.executemany("UPDATE entries SET to_version = ? WHERE brand_id = ? AND user_id = ? AND to_version IS NULL",
                          [(version, b, u) for b, u in removed])
        store.execute("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)",
                      (version, published_at.isoformat(), members, changed_count, len(removed), bytes_written))
        # Last statement of the transaction: the atomic switch.
        store.execute("INSERT INTO current (id, version) VALUES (1, ?) "
                      "ON CONFLICT (id) DO UPDATE SET version = excluded.version", (version,))
        return {"version": version, "members": members, "built": built, "changed": changed_count,
                "removed": len(removed), "erased": erased_count, "bytes_written": bytes_written}

    def _open_entries(self) -> pa.Table:
        """The open entries' keys and digests, read as one CSV text: a million rows as Python tuples took twice as
        long (keys are integers and digests decimal numbers, so nothing needs quoting)."""
        [(text,)] = self._connection.execute("""
            SELECT group_concat(brand_id || ',' || user_id || ',' || content_digest || ',' || ifnull(inputs_digest, ''),
                                char(10))
            FROM entries WHERE to_version IS NULL""").fetchall()
        if text is None:
            return OPEN_ENTRIES.empty_table()
        return pa_csv.read_csv(io.BytesIO(text.encode()),
                               read_options=pa_csv.ReadOptions(column_names=OPEN_ENTRIES.names),
                               convert_options=pa_csv.ConvertOptions(column_types=OPEN_ENTRIES,
                                                                     strings_can_be_null=True))

    def _store_changed(self, changed: pa.RecordBatchReader, version: int,
                       validator: DocumentValidator | None) -> tuple[int, int]:
        """Store the new or changed documents a chunk at a time: their bodies (content-addressed, gzipped in
        threads while the previous chunk is written), a new entry each, the previous entry closed; the entries of
        documents whose content did not change get their new inputs digest. Returns (members, gzipped bytes written)."""
        count = bytes_written = 0
        in_flight: deque = deque()
        with ThreadPoolExecutor(COMPRESSION_THREADS) as pool:
            for batch in changed:
                content_changed = batch.column("content_changed")
                self._update_inputs_digests(batch.filter(pc.invert(content_changed)))
                batch = batch.filter(content_changed)
                if not batch.num_rows:
                    continue
                brands, users = batch.column("brand_id").to_pylist(), batch.column("user_id").to_pylist()
                bodies = batch.column("document").to_pylist()
                if validator is not None:
                    validator.submit(list(zip(brands, users, bodies)))
                halves = [bodies[:len(bodies) // 2], bodies[len(bodies) // 2:]]
                in_flight.append((batch, bodies, [pool.submit(_gzip_all, half) for half in halves]))
                if len(in_flight) > COMPRESSION_THREADS:
                    bytes_written += self._write_chunk(version, *in_flight.popleft())
                count += len(bodies)
            while in_flight:
                bytes_written += self._write_chunk(version, *in_flight.popleft())
        return count, bytes_written

    def _update_inputs_digests(self, unchanged: pa.RecordBatch) -> None:
        self._connection.executemany(
            "UPDATE entries SET inputs_digest = ? WHERE brand_id = ? AND user_id = ? AND to_version IS NULL",
            zip(unchanged.column("inputs_digest").to_pylist(), unchanged.column("brand_id").to_pylist(),
                unchanged.column("user_id").to_pylist()))

    def _write_chunk(self, version: int, batch: pa.RecordBatch, bodies: list[bytes], compressing: list) -> int:
        store = self._connection
        hashed = [pair for future in compressing for pair in future.result()]
        digests = [digest for digest, _ in hashed]
        # In key order: B-tree pages are filled one after another instead of at random.
        store.executemany("INSERT OR IGNORE INTO documents VALUES (?, ?, ?)",
                          sorted((digest, body_gzip, len(body)) for (digest, body_gzip), body in zip(hashed, bodies)))
        keys = list(zip(batch.column("brand_id").to_pylist(), batch.column("user_id").to_pylist()))
        had_entry = batch.column("had_entry").to_pylist()
        store.executemany("UPDATE entries SET to_version = ? WHERE brand_id = ? AND user_id = ? AND to_version IS NULL",
                          [(version, b, u) for (b, u), had in zip(keys, had_entry) if had])
        store.executemany(
            "INSERT INTO entries (brand_id, user_id, digest, from_version, to_version, content_digest, inputs_digest) "
            "VALUES (?, ?, ?, ?, NULL, ?, ?)",
            sorted((b, u, digest, version, content, inputs) for (b, u), digest, content, inputs
                   in zip(keys, digests, batch.column("content_digest").to_pylist(),
                          batch.column("inputs_digest").to_pylist())))
        return sum(len(body_gzip) for _, body_gzip in hashed)

    def _erase(self, erased: set[tuple[int, int]]) -> int:
        """Delete every version of the erased members and the documents only they referenced."""
        if not erased:
            return 0
        con = self._connection
        con.execute("CREATE TEMP TABLE erased (brand_id INTEGER, user_id INTEGER, PRIMARY KEY (brand_id, user_id))")
        con.executemany("INSERT INTO erased VALUES (?, ?)", sorted(erased))
        members_with_entries = con.execute(
            "SELECT COUNT(*) FROM erased AS x WHERE EXISTS "
            "(SELECT 1 FROM entries AS e WHERE e.brand_id = x.brand_id AND e.user_id = x.user_id)").fetchone()[0]
        if members_with_entries:  # usually none: the requests stand, and every publish after the first finds them gone
            con.execute("CREATE TEMP TABLE candidate_digests (digest TEXT PRIMARY KEY)")
            # CROSS JOIN keeps the requests as the outer loop: joined the other way, SQLite scanned every entry (0.3 s at
            # 1M members).
            con.execute("INSERT OR IGNORE INTO candidate_digests SELECT e.digest FROM erased AS x "
                        "CROSS JOIN entries AS e WHERE e.brand_id = x.brand_id AND e.user_id = x.user_id")
            con.execute("DELETE FROM entries WHERE (brand_id, user_id) IN (SELECT brand_id, user_id FROM erased)")
            self._delete_unreferenced_candidates()
        con.execute("DROP TABLE temp.erased")
        return members_with_entries

    def _delete_unreferenced_candidates(self) -> int:
        """Delete the documents listed in temp.candidate_digests that no entry references any more: one pass over the
        entries (which have no index on their digest, see SCHEMA) takes the referenced ones off the list."""
        con = self._connection
        deleted = 0
        if con.execute("SELECT EXISTS (SELECT 1 FROM candidate_digests)").fetchone()[0]:
            con.execute("""DELETE FROM candidate_digests WHERE digest IN (
                               SELECT e.digest FROM entries AS e
                               WHERE EXISTS (SELECT 1 FROM candidate_digests AS c WHERE c.digest = e.digest))""")
            deleted = con.execute("DELETE FROM documents WHERE digest IN (SELECT digest FROM candidate_digests)").rowcount
        con.execute("DROP TABLE temp.candidate_digests")
        return deleted

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._connection)

    def _checkpoint(self) -> None:
        # Fold the WAL back into the database and truncate it; if readers hold it, the next one will.
        self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


# What "changed" compares: the document without generated_at, which moves with every build. The mart
# writes its keys in a fixed order, so equal content has equal text. DuckDB's 64-bit hash is three times
# faster than md5 over a million documents, and a member's old and new digests colliding has odds of 2^-64;
# a DuckDB release that changed the hash would rewrite every document once.
CONTENT_DIGEST_SQL = """CAST(hash(regexp_replace({document}, '"generated_at"\\s*:\\s*"[^"]*"', '')) AS VARCHAR)"""
MEMBER_KEYS = pa.schema([("brand_id", pa.int64()), ("user_id", pa.int64())])
OPEN_ENTRIES = pa.schema([*MEMBER_KEYS, ("content_digest", pa.string()), ("inputs_digest", pa.string())])
COMPRESSION_THREADS = max(1, os.cpu_count() or 1)
# ISA-L's fastest level: on the mart's documents a third of the CPU of zlib's level 1 (nginx's default)
# for slightly fewer bytes (36% of the document against 37%). Any gzip stream serves: the ETag names the
# uncompressed bytes.
GZIP_LEVEL = 1


def _gzip_all(bodies: list[bytes]) -> list[tuple[str, bytes]]:
    """(sha256 hex, gzipped bytes) of each body. hashlib and ISA-L release the GIL while they work: a list per
    thread keeps both cores busy."""
    return [(hashlib.sha256(body).hexdigest(), igzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))
            for body in bodies]


@contextmanager
def _members_listed(con: duckdb.DuckDBPyConnection, variable: str | None) -> Iterator[None]:
    """Within the block, the DuckDB session variable `variable` (if any) lists the profile_ids of _to_build (an empty
    list when it is empty: unset would mean every member)."""
    if variable is None:
        yield
        return
    con.execute(f"SET VARIABLE {variable} = (SELECT coalesce(list(profile_id), []::VARCHAR[]) FROM _to_build)")
    try:
        yield
    finally:
        con.execute(f"RESET VARIABLE {variable}")


@contextmanager
def _hash_join_built_on_the_right(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Within the block, DuckDB builds a join's hash table on its right side, as written. The diff joins a
    million documents (gigabytes) with the store's open entries (tens of megabytes); with equal row counts
    the optimizer would build on the documents: twice the time and gigabytes of memory. The connection is
    the caller's, so its setting is restored."""
    before = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    disabled = ",".join(filter(None, [before, "build_side_probe_side"]))
    con.execute(f"SET disabled_optimizers = '{disabled}'")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = '{before}'")


def disk_usage(root: Path) -> int:
    """Bytes on disk of the store: database, WAL and shared-memory index."""
    path = database_path(root)
    return sum(candidate.stat().st_size for candidate in (path, path.with_name(path.name + "-wal"),
                                                          path.with_name(path.name + "-shm"))
               if candidate.exists())



def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
