"""Worker processes for CPU-bound Python work beside a query or a publish (the GIL keeps one process on one core).

Spawned, not forked: the parent holds DuckDB and SQLite connections and their threads. A worker exits when its parent
is gone, so a killed parent leaves no worker waiting for work.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor


def spawn_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_exit_with_parent, initargs=(os.getpid(),))


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose parent was killed would otherwise wait for work forever (it holds its own queue)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
