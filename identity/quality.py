"""Pairwise precision and recall of "same person" decisions against a ground truth.

Over identifiers that belong to exactly one real person (shared household phones and family
tablets have no single right answer), every pair of identifiers is a decision: predicted same
profile or not, truly same person or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass
class PairwiseScores:
    identifiers: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0


def pairwise_scores(con: duckdb.DuckDBPyConnection, truth_parquet: Path) -> PairwiseScores:
    row = con.execute("""
        with truth as (
            select brand_id, id_type, value, any_value(person_id) as person_id
            from read_parquet(?) where not is_shared group by all
        ),
        scored as (
            select t.person_id, p.profile_id
            from truth as t join identity.identifier_profiles as p using (brand_id, id_type, value)
            where p.links_profiles
        ),
        select (select count(*) from scored),
            (select coalesce(sum(n), 0) from (select count(*) * (count(*) - 1) // 2 as n from scored group by profile_id)),
            (select coalesce(sum(n), 0) from (select count(*) * (count(*) - 1) // 2 as n from scored group by person_id)),
            (select coalesce(sum(n), 0) from (select count(*) * (count(*) - 1) // 2 as n from scored group by person_id, profile_id))
    """, [str(truth_parquet)]).fetchall()[0]
    return PairwiseScores(*[int(x) for x in row])
