"""Where everything lives. One data directory, overridable by SYNERGY_DATA_DIR."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "SYNERGY_DATA_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = PROJECT_ROOT / "docs" / "schemas" / "landing"


@dataclass(frozen=True)
class DataPaths:
    root: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "DataPaths":
        return cls(Path(environ.get(DATA_DIR_ENV, "data")).resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def analytics(self) -> Path:
        return self.root / "analytics.duckdb"

    @property
    def cards(self) -> Path:
        """Published card snapshots (versioned store the card server reads)."""
        return self.root / "cards"

    @property
    def activation(self) -> Path:
        """Customer.io sync state (what was queued and delivered, dead letters)."""
        return self.root / "activation"

    @property
    def outbox(self) -> Path:
        """Dry run: the exact Customer.io request bodies that would have been sent."""
        return self.root / "outbox"

    @property
    def logs(self) -> Path:
        """One file per `synergy run`: Dagster's and dbt's full output."""
        return self.root / "logs"

    @property
    def ground_truth(self) -> Path:
        return self.root / "ground_truth"

    def ensure(self) -> "DataPaths":
        self.landing.mkdir(parents=True, exist_ok=True)
        return self
