"""Whether the dbt docs site must be generated again. It shows the project (models, descriptions, columns, tests,
lineage) and the column types of the relations the project builds, which change only with the project: a build of
new data leaves the site as it was, so a build generates it only when the project differs from the one it shows.

The site's folder keeps the fingerprint of the project it documents beside index.html."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ingestion.durable import fsync_dir, write_atomically

FINGERPRINT_FILE = "project.sha256"
# Set anew by every parse of the same files: the manifest's `metadata` (invocation id, times) and each node's parse time.
UNSTABLE_KEYS = {"created_at"}


def _stable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _stable(item) for key, item in value.items() if key not in UNSTABLE_KEYS}
    if isinstance(value, list):
        return [_stable(item) for item in value]
    return value


def project_fingerprint(manifest: Mapping[str, Any], engine: str) -> str:
    """sha256 of what a parse of the project says (without parse times), dbt's version and the engine built on
    (with its version: an upgrade may change the column types)."""
    content = {key: _stable(value) for key, value in manifest.items() if key != "metadata"}
    content |= {"dbt_version": manifest["metadata"]["dbt_version"], "engine": engine}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def documents(site: Path, fingerprint: str) -> bool:
    """Whether the folder `site` holds a site generated for the project of `fingerprint`."""
    recorded = site / FINGERPRINT_FILE
    return (site / "index.html").is_file() and recorded.is_file() and recorded.read_text().strip() == fingerprint


def forget(site: Path) -> None:
    """Before the site is replaced: a crash after the replacement must not leave it paired with the old project
    (which a later build of that project would then take as current)."""
    recorded = site / FINGERPRINT_FILE
    if recorded.exists():
        recorded.unlink()
        fsync_dir(site)


def record(site: Path, fingerprint: str) -> None:
    """Once the new index.html is in place."""
    write_atomically(site / FINGERPRINT_FILE, f"{fingerprint}\n".encode())
