"""Identity resolution: identifier normalization and deterministic stitching into profiles (no Dagster)."""
