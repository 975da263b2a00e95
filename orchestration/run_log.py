"""Everything a run writes goes to its log file; the terminal gets only what the caller prints."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TextIO


@contextmanager
def output_to_log(path: Path) -> Iterator[TextIO]:
    """Sends stdout and stderr to `path` and yields a stream to the terminal.

    Both levels are redirected: the Python streams (dbt's lines, Dagster's console logger, warnings)
    and file descriptors 1 and 2, because a logging handler made at import time holds the original
    stream object and child processes inherit the descriptors."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        terminal: TextIO = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding=sys.stdout.encoding)
        own_terminal = True
    except (AttributeError, io.UnsupportedOperation):  # already a Python-level capture (pytest's capsys)
        terminal, own_terminal = sys.stdout, False
    saved = os.dup(1), os.dup(2)
    with open(path, "a", buffering=1, encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            with redirect_stdout(log), redirect_stderr(log):
                yield terminal
        finally:
            log.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            if own_terminal:
                terminal.close()
