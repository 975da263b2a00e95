"""Landing-zone ingestion: plain Python with DuckDB or Spark (spark_loader.py), no Dagster.

The contract lives in docs/landing-zone.md and docs/schemas/landing/*.schema.json;
this package enforces it (discovery, reading, validation, quarantine, exactly-once load).
"""
