"""Which engine runs the warehouse (DuckDB or Spark) and how Spark is reached."""
