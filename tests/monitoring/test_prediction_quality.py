"""The NFR9 comparison: a brand's latest churn AUC against the mean of the judged dates before it."""

from datetime import date, timedelta

import pytest

from monitoring.prediction_quality import latest_auc_against_trailing

D = date(2026, 10, 1)


def week(n: int) -> date:
    return D + timedelta(days=7 * n)


def test_a_drop_of_more_than_five_percent_is_degradation():
    history = [(1, week(0), 0.80), (1, week(1), 0.90), (1, week(2), 0.76)]  # trailing 0.85; 0.76 is 10.6% below
    (c,) = latest_auc_against_trailing(history)
    assert (c.brand_id, c.prediction_date, c.auc, c.trailing_dates) == (1, week(2), 0.76, 2)
    assert c.trailing_auc == pytest.approx(0.85) and c.relative_drop == pytest.approx(0.09 / 0.85)
    assert c.degraded


def test_a_drop_within_five_percent_or_a_rise_is_not():
    history = [(1, week(0), 0.80), (1, week(1), 0.77),   # 3.75% below 0.80
               (2, week(0), 0.70), (2, week(1), 0.90)]   # improved
    by_brand = {c.brand_id: c for c in latest_auc_against_trailing(history)}
    assert not by_brand[1].degraded and by_brand[1].relative_drop == pytest.approx(0.0375)
    assert not by_brand[2].degraded and by_brand[2].relative_drop < 0


def test_only_the_trailing_dates_count_and_dates_without_auc_are_skipped():
    # An old excellent date beyond the trailing window would hide the drop if it counted.
    history = [(1, week(0), 0.99), (1, week(1), 0.80), (1, week(2), 0.80), (1, week(3), None), (1, week(4), 0.75)]
    (c,) = latest_auc_against_trailing(history, trailing=2, max_drop=0.05)
    assert c.prediction_date == week(4) and c.trailing_auc == pytest.approx(0.80) and c.trailing_dates == 2
    assert c.degraded  # 6.25% below 0.80
    (wide,) = latest_auc_against_trailing(history, trailing=3, max_drop=0.15)
    assert wide.trailing_auc == pytest.approx((0.99 + 0.80 + 0.80) / 3) and wide.relative_drop == pytest.approx(0.1313, abs=1e-4)
    assert not wide.degraded


def test_a_first_judged_date_has_nothing_to_compare_with():
    (c,) = latest_auc_against_trailing([(3, week(0), 0.40)])
    assert c.trailing_auc is None and c.relative_drop is None and not c.degraded
    assert latest_auc_against_trailing([]) == [] and latest_auc_against_trailing([(1, week(0), None)]) == []
