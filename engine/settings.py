"""The engine switch and the Spark settings, read from the environment.

SYNERGY_ENGINE is `duckdb` (the default) or `spark`. For Spark: SYNERGY_SPARK_MASTER (default
`local[2]`), SYNERGY_SPARK_WAREHOUSE (the Spark SQL warehouse directory) and SYNERGY_SPARK_METASTORE
(the directory of the embedded Derby metastore), both defaulting to folders of the data directory.
SYNERGY_SPARK_REMOTE, a Spark Connect URL (`sc://host:port`), makes every session a client of that server
instead: the server owns the cluster and the metastore, and the master and metastore settings are its own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ingestion.paths import DataPaths

ENGINE_ENV = "SYNERGY_ENGINE"
MASTER_ENV = "SYNERGY_SPARK_MASTER"
WAREHOUSE_ENV = "SYNERGY_SPARK_WAREHOUSE"
METASTORE_ENV = "SYNERGY_SPARK_METASTORE"
REMOTE_ENV = "SYNERGY_SPARK_REMOTE"
ENGINES = ("duckdb", "spark")
DEFAULT_MASTER = "local[2]"


def engine(environ: Mapping[str, str] = os.environ) -> str:
    """The selected engine; anything but the allowed names is a configuration error, not a silent default."""
    value = environ.get(ENGINE_ENV, "duckdb").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"{ENGINE_ENV}={environ[ENGINE_ENV]!r}: the engine must be one of {', '.join(ENGINES)}")
    return value


@dataclass(frozen=True)
class SparkSettings:
    master: str
    warehouse: Path
    metastore: Path
    # A Spark Connect server's URL; the warehouse is then where this machine reads the server's tables.
    remote: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "SparkSettings":
        spark_dir = DataPaths.from_env(environ).root / "spark"
        return cls(
            master=environ.get(MASTER_ENV) or DEFAULT_MASTER,
            warehouse=Path(environ.get(WAREHOUSE_ENV) or spark_dir / "warehouse").resolve(),
            metastore=Path(environ.get(METASTORE_ENV) or spark_dir / "metastore").resolve(),
            remote=environ.get(REMOTE_ENV) or None,
        )
