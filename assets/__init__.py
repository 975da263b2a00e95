"""Dagster asset and check definitions wrapping ingestion, dbt and publishing."""

OWNER = "team:data-platform"
