"""This deployment's Dagster instance: Dagster's own, on local SQLite files, with the event log's database
connections kept open between events.

Dagster's own SQLite event log opens a database engine and a connection for every event it writes, then
closes them: about 6 ms for a log event and 14 ms for a materialization (written to the run's database and to
the index) on this project's machines, and a build writes about 1,100 events. This one keeps an engine, with one
pooled connection, for the index and for the runs it wrote or read last: about 2 and 4.5 ms. Only a few run
databases stay open, so a long-lived process (the webserver, the daemon) holds a handful of files.

Everything else is Dagster's: the files, their layout and journal mode (WAL), the schema, the locking (one thread
at a time per process, as before), so any Dagster process reads what another wrote. A write to a run's database
touches its file, which closing Dagster's connection did by checkpointing, so the UI's live run log, which watches
that file, still sees each new event.

dagster_home/dagster.yaml names SynergyInstance as the instance class: its default storage is Dagster's SQLite
storage in the instance's directory with this event log, so an instance opened from any directory
(`DagsterInstance.from_config`) uses its own files, as Dagster's default does.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

# Run databases kept open besides the index: the run being written and the few a process reads around it.
OPEN_RUN_DATABASES = 4


class SynergyInstance(dg.DagsterInstance):
    """Dagster's instance, whose default storage is ReusedConnectionSqliteStorage (see the module's doc)."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}  # no settings of its own: dagster.yaml holds Dagster's

    @staticmethod
    def config_defaults(base_dir: str) -> dict:
        return {**InstanceRef.config_defaults(base_dir), "storage": ConfigurableClassData(
            __name__, ReusedConnectionSqliteStorage.__name__, yaml.dump({"base_dir": base_dir}))}


class ReusedConnectionSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, event log, schedules under `base_dir`) with ReusedConnectionSqliteEventLogStorage."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = ReusedConnectionSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> ReusedConnectionSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


class ReusedConnectionSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage whose connections outlive one event (see the module's doc)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # shard -> engine, least recently used first
        super().__init__(base_dir, inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                database = conn.connection.dbapi_connection
                changes = database.total_changes
                with conn.begin():
                    yield conn
                if shard != INDEX_SHARD_NAME and database.total_changes != changes:
                    # Dagster's databases are in WAL mode, where a commit leaves the database file as it was until
                    # a checkpoint, and the UI learns of a run's new events from that file's changes (watchdog).
                    # Dagster's connection per event checkpointed as it closed; a connection kept open touches the
                    # file instead, which needs no write to disk.
                    os.utime(self.path_for_shard(shard))

    def _engine(self, shard: str) -> Engine:
        """The shard's engine, opened if needed; the least recently used run database closes beyond the limit."""
        engine = self._engines.pop(shard, None) or create_engine(
            # One connection kept; a second one only while Dagster creates a database (it inspects the engine
            # from inside a connection), closed after.
            self.conn_string_for_shard(shard), pool_size=1, max_overflow=2,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        self._engines[shard] = engine
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[:max(0, len(runs) - OPEN_RUN_DATABASES)]:
            self._engines.pop(name).dispose()
        return engine

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the run databases are deleted: nothing may write to an unlinked file
        super().wipe()

    def dispose(self) -> None:
        super().dispose()  # stops the watchers first: one could open a database again
        self._close_all()
