"""Row-for-row comparison of a DuckDB relation with the same relation built on Spark (exported to Parquet).

Both sides are brought to the DuckDB column's type, JSON is compared parsed (keys sorted; an integer and a
fraction stay different numbers, as a consumer's parser reads them) except where its text is what counts
(COMPARED_AS_TEXT), and doubles rounded to FLOAT_DECIMALS places, then EXCEPT ALL runs both ways: any row one
side has more often than the other is a difference."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Doubles summed in another order differ in their last bits; 6 decimals is far above that and far below
# any figure the marts publish (their own rounding is at most 6 places).
FLOAT_DECIMALS = 6
# Columns stamped with the run that wrote the row: two runs cannot share them, so they are left out of the
# comparison (test_dbt_on_spark.py compares which of two builds detected each completion instead).
RUN_STAMPED = {"marts.achievement_completions": ("detected_at", "detected_by_invocation"),
               # When the run's ingestion loaded the event's file: each engine's run loads the landing zone itself.
               "staging.stg_app__action_logs": ("loaded_at",), "staging.stg_customerio__exports": ("loaded_at",),
               # The latest load of people exports when the row was written.
               "marts.prediction_history": ("exports_loaded_at",),
               # An achievement event is available to Customer.io when the feed detected it.
               "marts.customerio_events": ("available_at",),
               # The dbt invocation that linked the event (identity resolution's batches).
               "intermediate.int_identity__event_links": ("linked_by",)}
# Digests made with each engine's own hash function: each engine compares them only with its own.
ENGINE_DIGESTS = {"intermediate.int_identity__event_links": ("rules_digest",),
                  "intermediate.int_achievements__qualifying_events": ("inputs_digest",),
                  "intermediate.int_kpis__member_days": ("inputs_digest",),
                  "intermediate.int_features__engagement_by_profile": ("inputs_digest",),
                  "marts.profile_channel_stats": ("inputs_digest",),
                  "marts.member_card_documents": ("inputs_digest",),
                  "marts.prediction_history": ("payloads_digest", "inputs_digest")}
# JSON whose bytes matter: the queue digests a person's attributes (md5 of the text) and sends an event's data as
# it is, so a data directory moved between engines must not change them.
COMPARED_AS_TEXT = {"marts.customerio_people": ("attributes",), "marts.customerio_events": ("data",)}


@dataclass(frozen=True)
class Difference:
    relation: str
    detail: str

    def __str__(self) -> str:
        return f"{self.relation}: {self.detail}"


def canonical_json(text: str | None) -> str | None:
    if text is None:
        return None
    return json.dumps(_rounded(json.loads(text)), sort_keys=True, separators=(",", ":"))


def _rounded(value):
    if isinstance(value, float):
        # + 0.0 turns -0.0 into 0.0: equal numbers, as doubles outside JSON compare (Spark's round drops the sign).
        return round(value, FLOAT_DECIMALS) + 0.0
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def comparison_connection(warehouse: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{warehouse}' as duck (read_only)")
    con.create_function("canonical_json", canonical_json, ["VARCHAR"], "VARCHAR", null_handling="special")
    return con


def _comparable(column: str, duckdb_type: str, as_text: bool = False) -> str:
    quoted = f'"{column}"'
    if as_text:
        return f"cast({quoted} as varchar) as {quoted}"
    if duckdb_type == "JSON":
        return f"canonical_json(cast({quoted} as varchar)) as {quoted}"
    if duckdb_type in ("DOUBLE", "FLOAT"):
        return f"round(cast({quoted} as double), {FLOAT_DECIMALS}) as {quoted}"
    return f"cast({quoted} as {duckdb_type}) as {quoted}"


def compare_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str, spark_files: Path) -> list[Difference]:
    """The differences between duck.<schema>.<name> and the Parquet files Spark wrote for it."""
    relation = f"{schema}.{name}"
    duck_columns = con.execute("""select column_name, data_type from information_schema.columns
        where table_catalog = 'duck' and table_schema = ? and table_name = ? order by ordinal_position""",
                               [schema, name]).fetchall()
    if not duck_columns:
        return [Difference(relation, "not in the DuckDB build")]
    spark = f"read_parquet('{spark_files}/*.parquet')"
    spark_columns = [c for (c,) in con.execute(f"select column_name from (describe select * from {spark})").fetchall()]
    if sorted(spark_columns) != sorted(c for c, _ in duck_columns):
        return [Difference(relation, f"columns differ: duckdb {[c for c, _ in duck_columns]}, spark {spark_columns}")]
    stamped = RUN_STAMPED.get(relation, ()) + ENGINE_DIGESTS.get(relation, ())
    as_text = COMPARED_AS_TEXT.get(relation, ())
    select = ", ".join(_comparable(column, kind, column in as_text) for column, kind in duck_columns if column not in stamped)
    duck_side = f'select {select} from duck."{schema}"."{name}"'
    spark_side = f"select {select} from {spark}"
    found = []
    for label, left, right in (("only in duckdb", duck_side, spark_side), ("only in spark", spark_side, duck_side)):
        rows = con.execute(f"select * from ({left} except all {right}) limit 3").fetchall()
        if rows:
            count = con.execute(f"select count(*) from ({left} except all {right})").fetchone()[0]
            found.append(Difference(relation, f"{count} rows {label}, e.g. {rows}"))
    return found
