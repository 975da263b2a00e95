"""Durable appends of webhook lines to the landing zone, with group commit.

Lines go to an open segment ``<root>/dt=YYYY-MM-DD/receiver-<pid>-<stamp>-<rand>.ndjson.tmp``.
One asyncio writer task takes every line that is waiting, writes them with one ``write``
and one ``fdatasync`` in a worker thread (the event loop keeps serving), then resolves
their futures: a request is acknowledged only once its line is on disk, and a burst of
requests shares a single fsync.

Landing files are immutable once complete and ``*.tmp`` is never read by the loader, so a
segment is finished (fsync, rename to ``.ndjson``, fsync the folder) every
``rotate_seconds``, when it reaches ``rotate_bytes``, and on shutdown. A process that dies
leaves its ``.tmp`` behind; the next receiver to start finishes it, dropping an incomplete
last line (that request was never acknowledged, so Customer.io retries it). Every open
segment holds an exclusive ``flock`` for its whole life, and recovery only touches
segments it can lock, so several workers never take each other's open file.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import logging
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from ingestion.durable import fsync_dir
from serving.logs import log_event

log = logging.getLogger("serving.webhooks")

OPEN_SUFFIX = ".tmp"
SEGMENT_GLOB = "dt=*/receiver-*.ndjson.tmp"


_sequence = itertools.count(1)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Segment:
    """One open landing file, exclusively locked for as long as it is open."""

    def __init__(self, root: Path, now: datetime | None = None):
        now = now or datetime.now(UTC)
        folder = root / f"dt={now:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        # pid: workers never collide; sequence: one process's files sort in order; random: a
        # restarted container can reuse a pid.
        stem = f"receiver-{os.getpid()}-{now:%Y%m%dT%H%M%SZ}-{next(_sequence):06d}-{secrets.token_hex(3)}"
        # Created under a hidden name, locked, then renamed: recovery (which only looks at
        # the final *.tmp name) can never see this file before it is locked.
        creating = folder / f".{stem}.creating"
        self.fd = os.open(creating, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.path = folder / f"{stem}.ndjson{OPEN_SUFFIX}"
        os.rename(creating, self.path)
        fsync_dir(folder)
        self.size = 0
        self.opened = time.monotonic()

    def append(self, data: bytes) -> None:
        """Write and fdatasync; on failure cut the file back to what was already durable."""
        try:
            _write_all(self.fd, data)
            os.fdatasync(self.fd)
        except OSError:
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise
        self.size += len(data)

    def finish(self) -> Path | None:
        """Make the segment a complete landing file (or delete it when empty); releases the lock."""
        try:
            os.fsync(self.fd)
            final = _complete_name(self.path)
            if self.size:
                os.rename(self.path, final)
            else:
                os.unlink(self.path)
            fsync_dir(self.path.parent)
        finally:
            os.close(self.fd)  # closing drops the flock, after the rename
        return final if self.size else None


def _complete_name(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(OPEN_SUFFIX))


def recover_segments(root: Path) -> list[Path]:
    """Finish the open segments of dead receivers (those nobody holds a lock on)."""
    recovered = []
    for path in sorted(root.glob(SEGMENT_GLOB)):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # finished by its owner or another recovering worker meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live receiver's open segment
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    continue
            except FileNotFoundError:
                continue  # another worker recovered it between our open and our lock
            data = os.pread(fd, os.fstat(fd).st_size, 0)
            complete = data.rfind(b"\n") + 1  # an unterminated last line was never acknowledged
            os.ftruncate(fd, complete)
            os.fsync(fd)
            if complete:
                os.rename(path, _complete_name(path))
                recovered.append(_complete_name(path))
            else:
                os.unlink(path)
            fsync_dir(path.parent)
            log_event(log, "webhook_segment_recovered", file=path.name, bytes=complete,
                      dropped_bytes=len(data) - complete)
        finally:
            os.close(fd)
    return recovered


_STOP = object()


class WebhookSink:
    """Appends lines durably; ``await append(line)`` returns once the line is fsynced."""

    def __init__(self, root: Path, rotate_seconds: float = 60.0, rotate_bytes: int = 64 << 20,
                 max_batch_bytes: int = 16 << 20):
        self.root = root
        self.rotate_seconds = rotate_seconds
        self.rotate_bytes = rotate_bytes
        self.max_batch_bytes = max_batch_bytes
        self.recovered: list[Path] = []
        self._segment: Segment | None = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.recovered = await asyncio.to_thread(recover_segments, self.root)
        self._task = asyncio.create_task(self._run(), name="webhook-sink")

    @property
    def healthy(self) -> bool:
        return self._task is not None and not self._task.done() and os.access(self.root, os.W_OK)

    async def append(self, line: bytes) -> None:
        if self._stopping or not self.healthy:
            raise RuntimeError("webhook sink is not running")
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((line, future))
        await future

    async def close(self) -> None:
        """Commit what is queued, finish the open segment, stop the writer."""
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._queue.put_nowait(_STOP)
            await self._task

    async def _run(self) -> None:
        try:
            await self._write_batches()
        except BaseException as exc:
            # Never leave a request waiting on a writer that is gone: fail them (a 503, retried).
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is not _STOP and not item[1].done():
                    item[1].set_exception(RuntimeError("webhook writer stopped"))
            if not isinstance(exc, asyncio.CancelledError):
                log_event(log, "webhook_writer_crashed", logging.ERROR, error=type(exc).__name__)
            raise

    async def _write_batches(self) -> None:
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), self._seconds_to_rotation())
            except TimeoutError:
                await self._finish_segment()
                continue
            batch, size, stop = [], 0, item is _STOP
            while not stop:
                batch.append(item)
                size += len(item[0])
                if size >= self.max_batch_bytes or self._queue.empty():
                    break
                item = self._queue.get_nowait()
                stop = item is _STOP
            if batch:
                await self._commit(batch)
            if stop:
                await self._finish_segment()
                return

    def _seconds_to_rotation(self) -> float | None:
        if self._segment is None:
            return None
        return max(0.0, self._segment.opened + self.rotate_seconds - time.monotonic())

    async def _commit(self, batch: list[tuple[bytes, asyncio.Future]]) -> None:
        try:
            await asyncio.to_thread(self._write, b"".join(line for line, _ in batch))
        except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure (a 5xx: retried)
            log_event(log, "webhook_append_failed", logging.ERROR, error=type(exc).__name__)
            await self._finish_segment()
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():  # the client may have gone away; its line is on disk anyway
                future.set_result(None)
        if self._segment is not None and self._segment.size >= self.rotate_bytes:
            await self._finish_segment()

    def _write(self, data: bytes) -> None:
        if self._segment is None:
            self._segment = Segment(self.root)
        self._segment.append(data)

    async def _finish_segment(self) -> None:
        segment, self._segment = self._segment, None
        if segment is None:
            return
        try:
            await asyncio.to_thread(segment.finish)
        except OSError as exc:
            # Left as *.tmp, unlocked: the next receiver start recovers it.
            log_event(log, "webhook_segment_finish_failed", logging.ERROR, file=segment.path.name,
                      error=type(exc).__name__)
