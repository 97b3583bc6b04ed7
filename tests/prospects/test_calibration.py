"""Tests for prospects.calibration: exact intervals and the calibration bins."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from core.errors import InputError
from prospects.calibration import BINS_COLUMNS, calibration_bins, clopper_pearson


def calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities drawn uniform on [0, 1] and labels ~ Bernoulli(p)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return rng.uniform(size=n) < p, p


@pytest.mark.parametrize(("x", "n"), [(0, 10), (3, 10), (10, 10), (57, 200), (1, 1), (500, 1000)])
def test_clopper_pearson_matches_scipy(x: int, n: int) -> None:
    expected = binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = clopper_pearson([x], [n])
    assert low[0] == pytest.approx(expected.low, abs=1e-10)
    assert high[0] == pytest.approx(expected.high, abs=1e-10)
    expected = binomtest(x, n).proportion_ci(confidence_level=0.8, method="exact")
    low, high = clopper_pearson(x, n, level=0.8)
    assert (float(low), float(high)) == pytest.approx((expected.low, expected.high), abs=1e-10)


def test_bins_intervals_are_scipys() -> None:
    y, p = calibrated(2_000, seed=11)
    frame = calibration_bins(y, p, bins=5)
    assert list(frame.columns) == list(BINS_COLUMNS)
    for row in frame.itertuples():
        ci = binomtest(round(row.observed_rate * row.count), row.count).proportion_ci(
            method="exact"
        )
        assert (row.ci_low, row.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-10)
        assert row.within_interval == (row.ci_low <= row.mean_predicted <= row.ci_high)
    assert frame["count"].sum() == 2_000


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
def test_calibrated_sample_is_within_its_intervals(seed: int, strategy: str) -> None:
    y, p = calibrated(4_000, seed=seed)
    frame = calibration_bins(y, p, bins=10, strategy=strategy, min_count=200)
    assert len(frame) == 10 and (frame["count"] >= 200).all()
    assert frame["within_interval"].sum() >= 8  # 95% intervals: about 9.5 of 10 on average


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_doubled_probabilities_are_flagged(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 0.5, size=4_000)
    y = rng.uniform(size=truth.size) < truth
    frame = calibration_bins(y, 2 * truth, bins=10)
    assert (~frame["within_interval"]).sum() >= 8
    assert (frame["mean_predicted"] > frame["ci_high"]).sum() >= 8  # over-confident, not under


def test_bins_edges_empty_and_small_bins() -> None:
    p = np.array([0.05, 0.06, 0.07, 0.93, 0.95])
    y = np.array([0, 0, 1, 1, 1], bool)
    frame = calibration_bins(y, p, bins=10, strategy="uniform")
    assert frame["bin"].tolist() == [0, 9]  # empty bins are left out, bins keep their place
    assert frame["lower"].tolist() == pytest.approx([0.0, 0.9])
    assert frame["upper"].tolist() == pytest.approx([0.1, 1.0])
    assert frame["count"].tolist() == [3, 2]
    assert frame["observed_rate"].tolist() == pytest.approx([1 / 3, 1.0])
    assert frame["mean_predicted"].tolist() == pytest.approx([0.06, 0.94])
    assert calibration_bins(y, p, bins=10, strategy="uniform", min_count=3)["bin"].tolist() == [0]
    same = calibration_bins(y, np.full(5, 0.5), bins=4)  # equal quantile edges merge: one bin
    assert same["count"].tolist() == [5] and same["mean_predicted"].tolist() == [0.5]
    assert calibration_bins([1], [1.0], strategy="uniform")["bin"].tolist() == [9]  # p = 1: last


def test_bins_options_checked() -> None:
    with pytest.raises(InputError) as info:
        calibration_bins([0, 1], [0.2, 0.7], bins=0, strategy="kmeans", min_count=0, level=1.5)
    assert {p.field for p in info.value.problems} == {"bins", "strategy", "min_count", "level"}
