"""Replace a set of Spark tables so that a failure never leaves some old tables beside some new ones.

Spark with a Hive metastore has no transaction over several tables, so the swap is journalled:
1. every new table is written in full under `<name>__next` (the live tables stay untouched);
2. one metastore operation creates the marker table `_swap_ready`: from then on the new set is
   complete and wins;
3. each live table is dropped and its `__next` renamed into place; then the marker is dropped.
A failure before 2 leaves the previous tables whole (the `__next` leftovers are dropped by the
next `recover`); a failure during 3 is finished by the next `recover`, which the resolution calls
before reading anything. Readers in between are the same job's later steps, which do not run
after a failed step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pyspark.sql import DataFrame, SparkSession

NEXT = "__next"
MARKER = "_swap_ready"


def _exists(spark: SparkSession, database: str, name: str) -> bool:
    return spark.catalog.tableExists(f"{database}.{name}")


def _swap(spark: SparkSession, database: str, names: Iterable[str]) -> None:
    for name in names:
        if _exists(spark, database, name + NEXT):  # absent: already renamed before an interruption
            spark.sql(f"drop table if exists {database}.{name}")
            spark.sql(f"alter table {database}.{name}{NEXT} rename to {database}.{name}")
    spark.sql(f"drop table if exists {database}.{MARKER}")


def recover(spark: SparkSession, database: str, names: Iterable[str]) -> None:
    """Finish a swap that was interrupted after its marker, or discard one interrupted before it."""
    if not spark.catalog.databaseExists(database):
        return
    if _exists(spark, database, MARKER):
        _swap(spark, database, names)
    else:
        for name in names:
            spark.sql(f"drop table if exists {database}.{name}{NEXT}")


def replace_tables(spark: SparkSession, database: str, frames: Mapping[str, DataFrame]) -> None:
    """Write every frame under its name in `database`; all become visible, or none (see the module doc)."""
    spark.sql(f"create database if not exists {database}")
    recover(spark, database, frames)
    for name, frame in frames.items():
        frame.write.mode("overwrite").saveAsTable(f"{database}.{name}{NEXT}")
    spark.sql(f"create table {database}.{MARKER} (ready boolean) using parquet")
    _swap(spark, database, frames)
