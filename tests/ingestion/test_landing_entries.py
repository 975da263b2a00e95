"""Only regular files inside the landing zone are read: links, FIFOs and sockets are refused with a
reason, recorded once, and never opened (a link to a file of secrets must not reach the quarantine)."""

from __future__ import annotations

import json
import os
import socket

from ingestion.sources import ACTION_LOGS
from tests.ingestion.helpers import event, load, query, write_lines

DAY_DIR = "app/action_logs/dt=2026-11-19"
SECRET = "CUSTOMERIO_API_KEY=sk-live-do-not-leak"


def test_links_fifos_and_sockets_are_refused_once_and_never_read(data_dir, tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    secrets = outside / "environ.ndjson"
    secrets.write_text(f"{SECRET}\n" + json.dumps(event("smuggled")) + "\n")
    write_lines(outside / "more" / "events.ndjson", [event("smuggled-through-a-folder")])
    day = data_dir.landing / DAY_DIR
    write_lines(day / "events.ndjson", [event("good-1")])
    (day / "environ.ndjson").symlink_to(secrets)
    (day / "linked_folder").symlink_to(outside / "more", target_is_directory=True)
    (day / "relative.ndjson").symlink_to("events.ndjson")  # even a link that stays inside
    os.mkfifo(day / "pipe.ndjson")  # opening it would block the loader for good
    listener = socket.socket(socket.AF_UNIX)
    monkeypatch.chdir(day)  # a socket's path must be short
    listener.bind("socket.ndjson")
    try:
        results = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
        os.utime(day / "pipe.ndjson", ns=(10**18, 10**18))  # written to since: its mtime moved
        again = load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
    finally:
        listener.close()

    assert sorted((r.path.rsplit("/", 1)[-1], r.status, r.detail) for r in results) == [
        ("environ.ndjson", "rejected", "not a regular file: symbolic link"),
        ("events.ndjson", "loaded", None),
        ("linked_folder", "rejected", "not a regular file: symbolic link"),
        ("pipe.ndjson", "rejected", "not a regular file: FIFO"),
        ("relative.ndjson", "rejected", "not a regular file: symbolic link"),
        ("socket.ndjson", "rejected", "not a regular file: socket"),
    ]
    assert again == []  # recorded: not refused again on every run
    assert query(data_dir.warehouse, "SELECT event_id FROM raw.app_action_logs") == [("good-1",)]
    assert query(data_dir.warehouse, "SELECT DISTINCT reason, raw FROM audit.quarantine") == [("not_a_regular_file", "")]
    everything = " ".join(str(row) for table in ("audit.quarantine", "audit.ingested_files")
                          for row in query(data_dir.warehouse, f"SELECT * FROM {table}"))
    assert "sk-live" not in everything and "smuggled" not in everything


def test_a_file_swapped_for_a_link_or_fifo_after_discovery_is_refused_not_read(data_dir, tmp_path):
    from ingestion.landing_files import discover
    from ingestion.loader import read_file

    secrets = tmp_path / "environ"
    secrets.write_text(f"{SECRET}\n")
    day = data_dir.landing / DAY_DIR
    write_lines(day / "a.ndjson", [event("a")])
    write_lines(day / "b.ndjson", [event("b")])
    found = {f.path.name: f for f in discover(data_dir.landing, ACTION_LOGS.folder)}
    assert all(f.refusal is None for f in found.values())  # regular files when listed

    (day / "a.ndjson").unlink()
    (day / "a.ndjson").symlink_to(secrets)
    (day / "b.ndjson").unlink()
    os.mkfifo(day / "b.ndjson")  # reading it by name would block for good

    for name in ("a.ndjson", "b.ndjson"):
        read = read_file(ACTION_LOGS, found[name])
        assert read.read is None and read.unreadable.reason == "not_a_regular_file", name


def test_a_source_folder_that_is_a_link_fails_loudly(data_dir, tmp_path):
    import pytest

    elsewhere = tmp_path / "elsewhere"
    write_lines(elsewhere / "dt=2026-11-19" / "events.ndjson", [event("x")])
    (data_dir.landing / "app").mkdir(parents=True, exist_ok=True)
    (data_dir.landing / "app" / "action_logs").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(NotADirectoryError, match="is a link"):
        load(data_dir.warehouse, data_dir.landing, ACTION_LOGS)
