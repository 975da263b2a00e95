"""Erasure requests carried out in the warehouse (plain Python, no Dagster)."""
