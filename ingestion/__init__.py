"""Landing-zone ingestion: plain Python and DuckDB, no Dagster.

The contract lives in docs/landing-zone.md and docs/schemas/landing/*.schema.json;
this package enforces it (discovery, reading, validation, quarantine, exactly-once load).
"""
