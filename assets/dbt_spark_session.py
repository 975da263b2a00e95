"""`synergy-dbt-spark`: dbt on the Spark profile, in a Spark session that already knows the identity functions.

dbt-spark's session method takes the process's Spark session (builder.getOrCreate() with the profile's
server_side_parameters), and SQL cannot register a Python function. So this creates that session first, with
the settings the profile renders, registers phone_e164() in it, then runs the dbt command line unchanged.

After a command that builds relations, the same session writes what the DuckDB views of the warehouse need besides
Spark's table files (engine/spark_views.py), even if dbt failed: this process has the metastore open already, where
the pipeline's own process would start a Spark driver of its own for it (20 to 55 s on the test cluster)."""

from __future__ import annotations

import os
import sys

from dbt.cli.main import cli
from dbt.config.profile import Profile, read_profile
from dbt.config.renderer import ProfileRenderer
from dbt_common.context import set_invocation_context
from pyspark.sql import SparkSession

from assets.dbt_project import DBT_PROJECT_DIR
from engine.settings import SparkSettings
from engine.spark import build_session
from engine.spark_views import write_files_for_duckdb
from identity.spark_functions import register_functions


def spark_target() -> str:
    """The profile's Spark output for this environment: a session of its own, or a Spark Connect server's client."""
    return "spark_connect" if SparkSettings.from_env().remote else "spark"


def profile_spark_settings(profiles_dir: str = os.fspath(DBT_PROJECT_DIR)) -> dict[str, str]:
    """The Spark settings of the profile's spark output, rendered from the environment as dbt renders them."""
    set_invocation_context(os.environ)  # what env_var() reads
    raw = read_profile(profiles_dir)["synergy"]
    target, rendered = Profile.render_profile(raw, "synergy", spark_target(), ProfileRenderer({}))
    # The adapter's credentials, so the settings it adds itself (spark.sql.ansi.enabled) are there too.
    return dict(Profile._credentials_from_profile(rendered, "synergy", target).server_side_parameters)


def start_session(settings: dict[str, str]) -> SparkSession:
    """The platform's session (engine/spark.py) with the profile's settings on top, and the identity functions."""
    spark = build_session(conf=settings)
    register_functions(spark)
    return spark


# Commands that touch no warehouse: no session for them (one takes 10 s to start).
WITHOUT_SESSION = {"--version", "--help", "parse", "ls", "list", "clean", "deps"}
# Commands that create or replace relations.
BUILDING = {"build", "run", "seed", "snapshot"}


def main() -> None:
    os.environ.setdefault("SYNERGY_ENGINE", "spark")
    command = set(sys.argv[1:2])
    if command & WITHOUT_SESSION:
        cli()
        return
    spark = start_session(profile_spark_settings())
    try:
        cli()  # exits with dbt's return code
    finally:
        if command & BUILDING:
            write_files_for_duckdb(spark, SparkSettings.from_env().warehouse)


if __name__ == "__main__":
    main()
