"""What the Spark/DuckDB comparison counts as the same JSON value, on a real DuckDB connection."""

from __future__ import annotations

import duckdb

from tests.spark.compare import canonical_json


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
