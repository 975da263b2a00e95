"""Row counts on the materializations of the tables a dbt invocation built.

dagster-dbt's `fetch_row_counts()` counts through dbt-duckdb's adapter inside the Dagster process, whose
DuckDB handle is process-wide and stays open on the warehouse until the process exits: the next step that
opens the file (identity resolution, the second dbt step) then fails on DuckDB's single-writer lock. Here
the counts are one query on a read-only connection that is closed again, once dbt has released the file
(on Spark, a connection whose views read the tables Spark wrote: orchestration/resources.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any

import dagster as dg
import duckdb

# Opens a read-only connection to the warehouse (WarehouseResource.connect(read_only=True)).
Reader = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def with_row_counts(events: Iterable, manifest: Mapping[str, Any], read: Reader) -> Iterator:
    """The invocation's events, each table's (not view's: counting one runs its query) with
    `dagster/row_count`. A failed invocation still yields what it built before it raises."""
    built, failure = [], None
    try:
        for event in events:  # DuckDB has one writer: nothing can be counted before dbt finished
            built.append(event)
    except Exception as exc:  # noqa: BLE001 - re-raised below, after the models that were built
        failure = exc
    tables = {}
    for event in built:
        node = model_node(manifest, event)
        if node is not None and node["config"].get("materialized") != "view" and node.get("relation_name"):
            tables[node["unique_id"]] = node["relation_name"]
    counts = _count(read, tables) if tables else {}
    for event in built:
        node = model_node(manifest, event)
        if node is not None and node["unique_id"] in counts:
            event = event.with_metadata({**event.metadata, "dagster/row_count": counts[node["unique_id"]]})
        yield event
    if failure is not None:
        raise failure


def model_node(manifest: Mapping[str, Any], event) -> Mapping[str, Any] | None:
    if not isinstance(event, (dg.Output, dg.AssetMaterialization)) or "unique_id" not in event.metadata:
        return None
    return manifest["nodes"].get(event.metadata["unique_id"].value)


def _count(read: Reader, tables: Mapping[str, str]) -> dict[str, int]:
    query = " UNION ALL ".join(f"SELECT ? AS unique_id, count(*) FROM {relation}" for relation in tables.values())
    with read() as con:
        return dict(con.execute(query, list(tables)).fetchall())
