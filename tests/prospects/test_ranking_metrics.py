"""Tests for prospects.ranking_metrics: known answers, properties, metrics of resamples."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from core.errors import InputError
from prospects.ranking_metrics import Ranked, auc, brier, evaluate, precision_at_k


def test_precision_at_k_by_hand() -> None:
    y = np.array([1, 0, 1, 0], bool)
    assert precision_at_k(y, [4.0, 3.0, 2.0, 1.0], k=2) == 0.5
    assert precision_at_k(y, [4.0, 3.0, 2.0, 1.0], k=1) == 1.0
    assert precision_at_k(y, [1.0, 2.0, 3.0, 4.0], k=1) == 0.0
    # fewer rows than k: every row counts, over their number
    assert precision_at_k(y, [4.0, 3.0, 2.0, 1.0], k=100) == 0.5


def test_precision_at_k_ties_broken_by_row_position() -> None:
    # rows 0-2 tie: the earlier rows come first, whatever their labels
    y = [0, 1, 1, 0]
    s = [5.0, 5.0, 5.0, 1.0]
    assert precision_at_k(y, s, k=1) == 0.0
    assert precision_at_k(y, s, k=2) == 0.5
    assert precision_at_k(y, s, k=3) == pytest.approx(2 / 3)
    assert precision_at_k([1, 0, 0], [2.0, 2.0, 2.0], k=1) == 1.0
    assert precision_at_k([0, 0, 1], [2.0, 2.0, 2.0], k=1) == 0.0


def test_auc_known_answers() -> None:
    y = [True, True, False, False]
    assert auc(y, [4, 3, 2, 1]) == 1.0  # perfect ranking
    assert auc(y, [1, 2, 3, 4]) == 0.0  # reversed
    assert auc(y, [1, 1, 1, 1]) == 0.5  # all tied: a tie counts one half
    assert auc([1, 0, 1, 0], [4.0, 3.0, 2.0, 1.0]) == 0.75
    assert auc([1, 1, 1], [1, 2, 3]) is None  # one outcome only
    assert auc([0, 0], [1, 2]) is None
    # unknown distance ranked last: -inf is a valid score
    assert auc([1, 0, 0], [-2.0, -5.0, -np.inf]) == 1.0


def test_brier_by_hand() -> None:
    assert brier([1, 0], [0.8, 0.3]) == pytest.approx((0.2**2 + 0.3**2) / 2)
    assert brier([True, False], [1.0, 0.0]) == 0.0
    assert brier([True, False], [0.0, 1.0]) == 1.0


def test_problems_are_collected_and_raised_once() -> None:
    with pytest.raises(InputError) as info:
        precision_at_k([0, 1, 2], [1.0, np.nan], k=0)
    fields = [p.field for p in info.value.problems]
    assert sorted(fields) == ["k", "labels", "scores"]
    with pytest.raises(InputError) as info:
        brier([0, 1, 1], [0.5, 1.5])
    assert [p.field for p in info.value.problems] == ["probabilities"]
    with pytest.raises(InputError) as info:
        brier([0, 1], [0.5, 0.5, 0.5])
    assert "3 values for 2 labels" in info.value.problems[0].message
    with pytest.raises(InputError, match="no rows"):
        auc([], [])
    with pytest.raises(InputError, match="neither booleans nor 0/1"):
        auc([0.5, 1], [1, 2])
    with pytest.raises(InputError, match="one-dimensional"):
        auc(["a", "b"], [1, 2])


# -- properties -----------------------------------------------------------------------------

rows = st.integers(min_value=2, max_value=40)


@st.composite
def labelled(draw: st.DrawFn, *, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    n = draw(rows)
    y = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if ties:
        s = draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    else:
        s = draw(st.permutations(range(n)))
    return y, np.array(s, dtype=float)


@given(labelled(ties=True))
def test_auc_in_unit_interval_and_equal_to_sklearn(case: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = case
    value = auc(y, s)
    if y.all() or not y.any():
        assert value is None
    else:
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@given(labelled(ties=False))
def test_auc_of_the_reversed_order_is_the_complement(case: tuple[np.ndarray, np.ndarray]) -> None:
    y, s = case
    if 0 < y.sum() < len(y):
        assert auc(y, s) + auc(y, -s) == pytest.approx(1.0, abs=1e-12)


@given(labelled(ties=True), st.integers(1, 50))
def test_precision_at_k_is_the_stable_top_k(case: tuple[np.ndarray, np.ndarray], k: int) -> None:
    y, s = case
    top = sorted(range(len(y)), key=lambda i: (-s[i], i))[:k]
    assert precision_at_k(y, s, k=k) == pytest.approx(y[top].sum() / min(k, len(y)))


@settings(max_examples=60)
@given(labelled(ties=True), st.data())
def test_resample_counts_measure_the_expanded_rows(
    case: tuple[np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    """The bootstrap's metrics from copies per row equal the metrics of the rows repeated."""
    y, s = case
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(y), max_size=len(y))))
    assume(counts.sum() > 0)  # a resample holds at least one row
    p = (s - s.min()) / (np.ptp(s) or 1.0)
    got = evaluate(Ranked.of(y, s, p), counts[None, :].astype(float), ["p@3", "auc", "brier"])
    rows_ = np.repeat(np.arange(len(y)), counts)  # copies keep their row's position
    ye, se = y[rows_], s[rows_]
    top = sorted(range(len(rows_)), key=lambda i: (-se[i], rows_[i]))[:3]
    assert got["p@3"][0] == pytest.approx(ye[top].sum() / min(3, len(rows_)))
    if 0 < ye.sum() < len(ye):
        assert got["auc"][0] == pytest.approx(roc_auc_score(ye, se), abs=1e-12)
    else:
        assert np.isnan(got["auc"][0])
    assert got["brier"][0] == pytest.approx(np.mean((p[rows_] - ye) ** 2))
