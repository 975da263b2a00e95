"""Deterministic sample-data generator for the landing zone (see generator.py)."""
