"""The identity SQL functions in a Spark session, as identity/dbt_plugin.py registers them on DuckDB's.

`phone_e164(raw, timezone)` normalizes phones with libphonenumber in the executors, a batch at a time."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql.functions import pandas_udf
from pyspark.sql.types import StringType

from identity.normalize import phone_for_timezone


@pandas_udf(StringType())
def phone_e164(raw: pd.Series, timezone: pd.Series) -> pd.Series:
    # Nulls arrive as None or NaN depending on the batch; phone_for_timezone takes None.
    return pd.Series([phone_for_timezone(r if isinstance(r, str) else None, t if isinstance(t, str) else None)
                      for r, t in zip(raw, timezone)], dtype="object")


def register_functions(spark: SparkSession) -> None:
    spark.udf.register("phone_e164", phone_e164)
