"""The landing-zone sources: where each kind of file lands, its contract, and how it loads."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from ingestion.paths import SCHEMA_DIR
from ingestion.schema_sql import RecordSchema

REFERENCE_TABLES = (
    "brands", "users", "products", "ranks", "rewards", "achievement_configs",
    "wishlists", "referrals", "custom_fields", "user_custom_field_values",
)


@dataclass(frozen=True)
class Source:
    name: str
    folder: str  # relative to the landing zone
    schema_file: str  # relative to docs/schemas/landing
    # append: rows accumulate, deduplicated by key across all files ever loaded.
    # snapshot: each file is a full extract; the newest extract (by stamp) replaces the table.
    mode: Literal["append", "snapshot"]
    key: tuple[str, ...]
    # Columns computed from the typed columns (name -> SQL, or dialect name -> SQL where the engines spell it
    # differently), stored and usable in the key.
    derived: dict[str, str | dict[str, str]] = field(default_factory=dict)
    # Row rules beyond the JSON Schema: (failure condition over typed columns, reason, detail).
    rules: tuple[tuple[str, str, str], ...] = ()
    # Columns that decide whether a repeated key is the same row (duplicate) or not (conflict).
    # Default: every data column.
    compare: tuple[str, ...] | None = None
    partitioned: bool = False  # daily partitions from dt=YYYY-MM-DD folders
    fold_extra_columns_into: str | None = None  # columns (CSV, Parquet) or keys (NDJSON) not in the schema go into this object
    max_row_bytes: int | None = None  # rows over it are quarantined as row_too_large (None: the loader's)

    @property
    def table(self) -> str:
        return f"raw.{self.name}"

    def derived_sql(self, dialect: str) -> dict[str, str]:
        """The derived columns' SQL in one dialect (duckdb or spark)."""
        return {name: sql if isinstance(sql, str) else sql[dialect] for name, sql in self.derived.items()}

    @cached_property
    def schema(self) -> RecordSchema:
        return RecordSchema.load(SCHEMA_DIR / self.schema_file)


WEBHOOK_LANDING_LINE_MAX_BYTES = 4 * 2**20

ACTION_LOGS = Source(
    name="app_action_logs", folder="app/action_logs", schema_file="action_log.schema.json",
    mode="append", key=("brand_id", "event_id"), partitioned=True,
)
ERASURE_REQUESTS = Source(
    name="app_erasure_requests", folder="app/erasure_requests", schema_file="erasure_request.schema.json",
    mode="append", key=("brand_id", "user_id", "requested_at"),
)
CUSTOMERIO_WEBHOOKS = Source(
    name="customerio_webhooks", folder="customerio/webhooks", schema_file="customerio_webhook.schema.json",
    mode="append", key=("webhook_id",),
    # Reporting webhooks carry an event_id. Prediction payloads have no id and no timestamp: each receipt
    # is one row, so a prediction Customer.io confirms unchanged days later keeps the member's prediction
    # fresh instead of being dropped as a duplicate (the same line loaded twice is still one row).
    derived={"webhook_id": {
        "duckdb": "coalesce(json_extract_string(body, '$.event_id'), md5(body || '@' || CAST(epoch_us(received_at) AS VARCHAR)))",
        "spark": "coalesce(get_json_object(body, '$.event_id'), md5(body || '@' || CAST(unix_micros(received_at) AS STRING)))",
    }},
    compare=("kind", "body"),  # a retried reporting event is received later: same payload, new received_at
    # An acknowledged webhook is never resent, so every body the receiver accepts (1 MiB) must load: in
    # its landing line the body is a JSON string, where escaping at most doubles valid JSON.
    max_row_bytes=WEBHOOK_LANDING_LINE_MAX_BYTES,
)
CUSTOMERIO_EXPORTS = Source(
    name="customerio_exports", folder="customerio/exports", schema_file="customerio_export.schema.json",
    mode="append", key=("_extracted_at", "person_key"),
    derived={"person_key": "coalesce(cio_id, id, email)"},
    rules=(("coalesce(cio_id, id, email) IS NULL", "missing_identifier", "'one of cio_id, id, email is required'"),),
    fold_extra_columns_into="attributes",
)
REFERENCE = {
    table: Source(name=f"app_{table}", folder=f"app/reference/{table}", schema_file=f"reference/{table}.schema.json",
                  mode="snapshot", key=("id",))
    for table in REFERENCE_TABLES
}

ALL_SOURCES: tuple[Source, ...] = (ACTION_LOGS, ERASURE_REQUESTS, CUSTOMERIO_WEBHOOKS, CUSTOMERIO_EXPORTS, *REFERENCE.values())
SOURCES_BY_NAME = {s.name: s for s in ALL_SOURCES}
