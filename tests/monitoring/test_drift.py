"""The population stability index on distributions with known answers."""

from __future__ import annotations

import math

import pytest

from monitoring.drift import population_stability_index


def test_identical_distributions_do_not_drift():
    shares = {"1": 0.2, "2": 0.3, "3": 0.5}
    assert population_stability_index(shares, shares) == 0.0


def test_known_shift():
    expected = {"a": 0.5, "b": 0.5}
    actual = {"a": 0.8, "b": 0.2}
    by_hand = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert population_stability_index(expected, actual) == pytest.approx(by_hand)
    assert population_stability_index(expected, actual) > 0.25


def test_a_new_bucket_counts_without_dividing_by_zero():
    psi = population_stability_index({"a": 1.0}, {"a": 0.5, "b": 0.5})
    assert math.isfinite(psi) and psi > 0.25
