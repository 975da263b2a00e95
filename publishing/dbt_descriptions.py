"""What the analyst snapshot takes from dbt's manifest: the descriptions of the models' tables and columns (the
comments it carries), and which models are views (it copies no view). On DuckDB dbt's persist_docs writes the same texts into the warehouse; on Spark the snapshot
copies DuckDB views over Spark's files, which have none, so the manifest is the one source on both engines."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RelationDescription:
    table: str
    columns: dict[str, str] = field(default_factory=dict)


def model_descriptions(manifest: dict) -> dict[str, RelationDescription]:
    """`schema.name` of each model whose docs dbt persists -> its description and its columns' (empty ones left out)."""
    described = {}
    for node in manifest["nodes"].values():
        persist = node["config"].get("persist_docs") or {}
        if node["resource_type"] != "model" or not (persist.get("relation") or persist.get("columns")):
            continue
        columns = {name: column["description"] for name, column in node["columns"].items()
                   if persist.get("columns") and column.get("description")}
        described[f"{node['schema']}.{node['alias']}"] = RelationDescription(
            node["description"] if persist.get("relation") else "", columns)
    return described


def view_models(manifest: dict) -> set[str]:
    """`schema.name` of each model dbt builds as a view. On DuckDB the snapshot skips them as views; on Spark every
    relation the warehouse connection has is a view over Spark's files, and some of dbt's views have their rows
    written as files too (engine/spark_views.py), so these names are what tells them apart."""
    return {f"{node['schema']}.{node['alias']}" for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["config"]["materialized"] == "view"}
