"""Model degradation (NFR9): a brand's latest churn-prediction AUC against its trailing average.

A drop of more than `max_drop` (relative: 0.05 is 5% of the trailing average) on the latest judged prediction
date is degradation. The trailing average is the mean AUC of up to `trailing` judged dates before it; a brand
with no earlier date has nothing to compare with and is not degraded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import groupby


@dataclass(frozen=True)
class AucComparison:
    brand_id: int
    prediction_date: date
    auc: float
    trailing_auc: float | None  # mean AUC of the dates before it (None: no earlier date)
    trailing_dates: int
    relative_drop: float | None  # (trailing - latest) / trailing; negative when it improved
    degraded: bool


def latest_auc_against_trailing(history: Iterable[tuple[int, date, float | None]], trailing: int = 4,
                                max_drop: float = 0.05) -> list[AucComparison]:
    """One comparison per brand from (brand_id, prediction_date, auc) rows; dates without an AUC are skipped."""
    rows = sorted((b, d, a) for b, d, a in history if a is not None)
    out = []
    for brand_id, group in groupby(rows, key=lambda r: r[0]):
        dated = list(group)
        *earlier, (_, latest_date, latest) = dated
        window = [a for _, _, a in earlier[-trailing:]] if trailing > 0 else []
        mean = sum(window) / len(window) if window else None
        drop = (mean - latest) / mean if mean else None
        out.append(AucComparison(brand_id, latest_date, latest, mean, len(window), drop,
                                 drop is not None and drop > max_drop))
    return out
