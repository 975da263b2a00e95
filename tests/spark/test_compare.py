"""What the Spark/DuckDB comparison counts as the same JSON value, on a real DuckDB connection."""

from __future__ import annotations

import duckdb

from tests.spark.compare import canonical_json, compare_relation, comparison_connection


def same_json(left: str, right: str) -> bool:
    return canonical_json(left) == canonical_json(right)


def test_key_order_and_spelling_of_numbers_do_not_count():
    assert same_json('{"b": 1e-05, "a": [1, {"y": 2, "x": 0.5}]}', '{"a":[1,{"x":0.5,"y":2}],"b":1.0E-5}')


def test_negative_zero_is_zero_as_in_a_double_column():
    # DuckDB's round keeps the sign of -0.0, Spark's drops it; as doubles outside JSON the two are equal.
    assert duckdb.connect().execute("select cast('-0.0' as double) = 0.0").fetchone()[0]
    assert same_json('{"action_diversity": -0.0}', '{"action_diversity": 0.0}')


def test_an_integer_and_a_fraction_stay_different_as_do_other_values():
    assert not same_json('{"msrp": 69.0}', '{"msrp": 69}')
    assert not same_json('{"a": 0.1}', '{"a": 0.2}')
    assert not same_json('{"a": null}', '{}')


def test_customerio_payloads_are_compared_as_text(tmp_path):
    # The queue digests the attributes' text: the same value with its keys in another order is a difference there,
    # and only there.
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        for name, column in (("customerio_people", "attributes"), ("member_cards", "details")):
            con.execute(f"""create table marts.{name} as select 1 as user_id, '{{"b":1e-7,"a":0.0}}'::json as {column}""")
            con.execute(f"""copy (select 1 as user_id, '{{"a":0.0,"b":1.0E-7}}' as {column})
                            to '{tmp_path / name}.parquet' (format parquet)""")
    for name in ("customerio_people", "member_cards"):
        (tmp_path / name).mkdir()
        (tmp_path / f"{name}.parquet").rename(tmp_path / name / "part-0.parquet")
    con = comparison_connection(warehouse)
    assert [d.relation for d in compare_relation(con, "marts", "customerio_people", tmp_path / "customerio_people")] == \
        ["marts.customerio_people", "marts.customerio_people"]
    assert compare_relation(con, "marts", "member_cards", tmp_path / "member_cards") == []
