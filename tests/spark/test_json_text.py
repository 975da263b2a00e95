"""The JSON the models build (json_object_of and its companions, round_double) is the same text on Spark as on DuckDB,
for numbers across every spelling range, negative zero, rounding half-way cases, maps, grouped objects, nesting and
escaped text. One query, rendered with the project's macros, runs through `dbt show` on each engine; DuckDB's text
is the reference (what the Customer.io queue digested before Spark existed)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.spark.spark_commands import DBT, DBT_SPARK, dbt_show, spark_environment

pytestmark = pytest.mark.slow

# Doubles on both sides of each boundary of Java's and DuckDB's spellings (1e-6, 1e-3, 1e7, 1e21), and values
# whose rounding differs between a decimal rounding and DuckDB's (2.675, 0.12345) or that round to zero from below.
DOUBLES = ["0", "-0.0", "0.1", "3.0", "2.675", "0.12345", "-0.00001", "0.6666666666666666", "0.001", "0.0001",
           "0.00001", "0.000001", "9.99e-7", "1.234e-7", "-2.5e-8", "1.5e-10", "1234567.0", "1e7", "12345678.9",
           "123456789.5", "-123456789.25", "1e16", "1.5e20", "1e21", "1.5e21", "1e22"]

QUERY = """
with numbers as (
    select id, text, cast(text as double) as x, concat('k', cast(id % 3 as string)) as k
    from (values {rows}) as t(id, text)
),
per_key as (
    select k, {{{{ sorted_map('cast(id as string)', 'x') }}}} as xs, {{{{ json_object_of_group('cast(id as string)', 'text') }}}} as grouped
    from numbers group by k
)
select n.id, {{% call json_object_of() %}}
    'x', {{{{ json_double('n.x') }}}}, 'rounded', {{{{ json_double(round_double('n.x', 4)) }}}},
    'rounded_1', {{{{ json_double(round_double('n.x', 1)) }}}}, 'id', n.id,
    'text', concat('a', chr(34), 'b', chr(92), 'c', chr(1), chr(10), chr(9), chr(127), '/é'), 'nothing', cast(null as double),
    'nested', {{% call json_object_of() %}}'by_id', {{{{ json_doubles_by_key('p.xs') }}}}, 'empty', {{{{ json_object_of() }}}}{{% endcall %}},
    'grouped', {{{{ json_embedded('p.grouped') }}}}
{{% endcall %}} as doc
from numbers as n inner join per_key as p using (k)
"""


def documents(dbt: Path, env: dict[str, str], target: Path, log: Path) -> dict[int, str]:
    """The query's documents by id."""
    rows = ", ".join(f"({i}, '{text}')" for i, text in enumerate(DOUBLES))
    return {row["id"]: row["doc"] for row in dbt_show(dbt, QUERY.format(rows=rows), env, target, log)}


def test_built_json_is_duckdbs_text_on_spark(tmp_path, spark_cluster):
    log = tmp_path / "show.log"
    duckdb_env = {**os.environ, "SYNERGY_ENGINE": "duckdb", "SYNERGY_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
                  "SYNERGY_DUCKDB_TEMP_DIR": str(tmp_path / "duckdb-tmp")}
    on_duckdb = documents(DBT, duckdb_env, tmp_path / "target-duckdb", log)
    on_spark = documents(DBT_SPARK, spark_environment(tmp_path / "data", spark_cluster.master_url),
                         tmp_path / "target-spark", log)
    assert len(on_duckdb) == len(DOUBLES)
    differences = {i: (on_duckdb[i], on_spark.get(i)) for i in on_duckdb if on_duckdb[i] != on_spark.get(i)}
    assert not differences, "\n".join(f"{DOUBLES[i]}:\n  duckdb {d}\n  spark  {s}" for i, (d, s) in differences.items())
