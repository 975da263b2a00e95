"""Dagster wiring: the one Definitions, resources, jobs, schedules, sensors and the CLI."""
