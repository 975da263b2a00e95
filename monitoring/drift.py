"""Population stability index between two distributions of one feature.

PSI = sum over buckets of (actual - expected) * ln(actual / expected), on bucket shares.
Common reading: < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 significant shift.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

FLOOR = 1e-4  # an empty bucket would make the logarithm infinite


def population_stability_index(expected: Mapping[str, float], actual: Mapping[str, float]) -> float:
    buckets = set(expected) | set(actual)
    total = 0.0
    for bucket in buckets:
        e = max(expected.get(bucket, 0.0), FLOOR)
        a = max(actual.get(bucket, 0.0), FLOOR)
        total += (a - e) * math.log(a / e)
    return total
