"""Data-quality measures used by asset checks (no Dagster)."""
