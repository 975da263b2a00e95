"""The digests that rewrite a table when its inputs change (the identity rules', the achievements') hash each row with
row_hash: on both engines a null column counts where it stands, so a value moving to the next column (a blocklist entry
turned from an exact value into a pattern) changes the digest. Spark's own hash() skips null arguments."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.spark.spark_commands import DBT, DBT_SPARK, dbt_show, spark_environment

pytestmark = pytest.mark.slow

# Every arrangement of a value and nulls in two text columns, its row hash, and the digest of it alone.
QUERY = """
with arranged as (
    select id, cast(a as {{ text_type() }}) as a, cast(b as {{ text_type() }}) as b
    from (values (1, null, 'x'), (2, 'x', null), (3, 'x', 'x'), (4, null, null), (5, 'x', '')) as t(id, a, b)
),
digests as (
    {% for id in range(1, 6) -%}
    select {{ id }} as id, cast({{ rows_digest('arranged as d where d.id = ' ~ id, ['d.a', 'd.b']) }} as {{ text_type() }}) as digest
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)
select r.id, cast({{ row_hash(['r.a', 'r.b']) }} as {{ text_type() }}) as row_hash, d.digest
from arranged as r
inner join digests as d on d.id = r.id
"""


def hashes(dbt: Path, env: dict[str, str], target: Path, log: Path) -> dict[int, tuple[str, str]]:
    """Each arrangement's row hash and digest by id."""
    return {row["id"]: (row["row_hash"], row["digest"]) for row in dbt_show(dbt, QUERY, env, target, log)}


def test_a_null_counts_where_it_stands_on_both_engines(tmp_path, spark_cluster):
    log = tmp_path / "show.log"
    duckdb_env = {**os.environ, "SYNERGY_ENGINE": "duckdb", "SYNERGY_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
                  "SYNERGY_DUCKDB_TEMP_DIR": str(tmp_path / "duckdb-tmp")}
    spark_env = spark_environment(tmp_path / "data", spark_cluster.master_url)
    for dbt, env in ((DBT, duckdb_env), (DBT_SPARK, spark_env)):
        by_id = hashes(dbt, env, tmp_path / f"target-{dbt.name}", log)
        assert sorted(by_id) == [1, 2, 3, 4, 5]
        row_hashes = [row_hash for row_hash, _ in by_id.values()]
        assert len(set(row_hashes)) == 5, (dbt.name, by_id)
        digests = [digest for _, digest in by_id.values()]
        assert len(set(digests)) == 5, (dbt.name, by_id)
