"""App API people exports: jobs that become done after some polls or seconds, and their gzipped CSV."""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import secrets
import time
from dataclasses import dataclass, field

import orjson

from fake_customerio.state import WorkspaceState

IDENTIFIER_COLUMNS = ("cio_id", "id", "email")


@dataclass
class ExportSettings:
    ready_after_polls: int | None = 1  # pending answers before done (None: polls do not matter)
    ready_after_seconds: float | None = None  # or done once this old
    url_ttl_seconds: float = 900.0  # Customer.io's signed URLs last 15 minutes
    fail_next: int = 0  # the next N exports end as failed
    expire_next_urls: int = 0  # the next N download URLs are handed out already expired

    def update(self, changes: dict) -> None:
        for name, value in changes.items():
            if not hasattr(self, name):
                raise ValueError(f"unknown export setting {name!r}")
            setattr(self, name, value)


@dataclass
class Export:
    id: int
    site_id: str
    filters: object
    content: bytes
    total: int
    fails: bool
    created_at: float = field(default_factory=time.time)
    polls: int = 0
    status: str = "pending"
    downloads: int = 0

    def describe(self) -> dict:
        return {"id": self.id, "type": "customers", "status": self.status, "failed": self.status == "failed",
                "total": self.total, "downloads": self.downloads, "created_at": int(self.created_at),
                "updated_at": int(time.time())}


def people_csv_gz(state: WorkspaceState, attributes: list[str] | None = None) -> tuple[bytes, int]:
    """cio_id, id, email, segments (JSON array), then one column per attribute (JSON text if nested):
    the requested attributes, or every attribute anyone has when none were named."""
    people = list(state.people.values())
    names = set(attributes) if attributes is not None else {name for p in people for name in p["attributes"]}
    attribute_names = sorted(names - {*IDENTIFIER_COLUMNS, "segments"})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*IDENTIFIER_COLUMNS, "segments", *attribute_names])
    for person in people:
        attributes = person["attributes"]
        writer.writerow([person["cio_id"], person.get("id", ""), person.get("email") or attributes.get("email", ""),
                         orjson.dumps(person["segments"]).decode(),
                         *(_cell(attributes.get(name)) for name in attribute_names)])
    return gzip.compress(out.getvalue().encode(), mtime=0), len(people)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


class Exports:
    def __init__(self) -> None:
        self.settings = ExportSettings()
        self._jobs: dict[int, Export] = {}
        self._urls: dict[str, tuple[int, float]] = {}  # token -> (export id, expires at)
        self._ids = itertools.count(1)

    def create(self, site_id: str, state: WorkspaceState, filters: dict, attributes: list[str] | None) -> Export:
        content, total = people_csv_gz(state, attributes)
        fails = self.settings.fail_next > 0
        self.settings.fail_next -= fails
        job = Export(next(self._ids), site_id, filters, content, total, fails)
        self._jobs[job.id] = job
        return job

    def find(self, site_id: str, export_id: int, *, poll: bool) -> Export | None:
        """The workspace's export; a poll (status request) may move it from pending to done or failed."""
        job = self._jobs.get(export_id)
        if job is None or job.site_id != site_id:
            return None
        if poll:
            if job.status == "pending" and self._ready(job):
                job.status = "failed" if job.fails else "done"
            job.polls += 1
        return job

    def _ready(self, job: Export) -> bool:
        s = self.settings
        by_polls = s.ready_after_polls is not None and job.polls >= s.ready_after_polls
        by_age = s.ready_after_seconds is not None and time.time() - job.created_at >= s.ready_after_seconds
        return by_polls or by_age

    def download_token(self, job: Export) -> str:
        token = secrets.token_urlsafe(16)
        expired = self.settings.expire_next_urls > 0
        self.settings.expire_next_urls -= expired
        self._urls[token] = (job.id, 0.0 if expired else time.time() + self.settings.url_ttl_seconds)
        return token

    def content(self, token: str) -> bytes | None:
        """The file behind a signed URL, or None when the URL is unknown or expired."""
        export_id, expires_at = self._urls.get(token, (0, 0.0))
        if time.time() >= expires_at:
            return None
        job = self._jobs[export_id]
        job.downloads += 1
        return job.content
