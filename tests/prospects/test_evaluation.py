"""Tests for prospects.evaluation: known answers, properties, calibration and paired intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from core.errors import InputError
from prospects.evaluation import (
    BINS_COLUMNS,
    _evaluate,
    _Ranked,
    auc,
    brier,
    calibration_bins,
    calibration_plot,
    clopper_pearson,
    compare_orders,
    paired_bootstrap,
    precision_at_k,
)


def calibrated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities drawn uniform on [0, 1] and labels ~ Bernoulli(p)."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return rng.uniform(size=n) < p, p


# -- known answers --------------------------------------------------------------------------


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
    got = _evaluate(_Ranked.of(y, s, p), counts[None, :].astype(float), ["p@3", "auc", "brier"])
    rows_ = np.repeat(np.arange(len(y)), counts)  # copies keep their row's position
    ye, se = y[rows_], s[rows_]
    top = sorted(range(len(rows_)), key=lambda i: (-se[i], rows_[i]))[:3]
    assert got["p@3"][0] == pytest.approx(ye[top].sum() / min(3, len(rows_)))
    if 0 < ye.sum() < len(ye):
        assert got["auc"][0] == pytest.approx(roc_auc_score(ye, se), abs=1e-12)
    else:
        assert np.isnan(got["auc"][0])
    assert got["brier"][0] == pytest.approx(np.mean((p[rows_] - ye) ** 2))


# -- calibration ----------------------------------------------------------------------------


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


def test_calibration_plot_writes_a_png(tmp_path: pytest.TempPathFactory) -> None:
    y, p = calibrated(3_000, seed=5)
    frame = calibration_bins(y, p, bins=10)
    frame.loc[0, "within_interval"] = False  # both markers drawn
    out = calibration_plot(frame, tmp_path / "reliability.png", title="calibrated sample")
    data = out.read_bytes()
    assert out == tmp_path / "reliability.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000
    with pytest.raises(InputError) as info:
        calibration_plot(frame.drop(columns="ci_low"), tmp_path / "nowhere" / "x.png", title="")
    assert {p.field for p in info.value.problems} == {"ci_low", "path"}


def test_calibration_plot_leaves_pyplot_alone(tmp_path: pytest.TempPathFactory) -> None:
    import matplotlib

    before = matplotlib.get_backend()
    calibration_plot(calibration_bins([0, 1], [0.2, 0.7], bins=2), tmp_path / "a.png", title="t")
    assert matplotlib.get_backend() == before


# -- paired bootstrap -----------------------------------------------------------------------


def orders_world(n: int = 3_000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(size=n)
    return {
        "labels": rng.uniform(size=n) < truth,
        "good": truth + rng.normal(0, 0.1, n),
        "good_too": truth + rng.normal(0, 0.1, n),
        "random": rng.uniform(size=n),
        "truth": truth,
    }


@pytest.mark.parametrize("metric", ["auc", "p@25", "p@50", "p@100"])
def test_clearly_better_order_excludes_zero(metric: str) -> None:
    w = orders_world()
    d = paired_bootstrap(w["labels"], w["good"], w["random"], metric=metric, n_boot=500, seed=1)
    assert d.estimate > 0 and d.ci_low > 0 and d.excludes_zero
    assert d.ci_low <= d.estimate <= d.ci_high
    assert (d.n_boot, d.resamples) == (500, 500)


def test_brier_difference_of_calibrated_and_miscalibrated() -> None:
    w = orders_world()
    d = paired_bootstrap(
        w["labels"], w["truth"], w["truth"] ** 3, metric="brier", n_boot=500, seed=1
    )
    assert d.ci_high < 0  # lower Brier is better: the calibrated order wins


def test_identical_and_equally_good_orders_include_zero() -> None:
    w = orders_world()
    same = paired_bootstrap(w["labels"], w["good"], w["good"], metric="auc", n_boot=200, seed=2)
    assert (same.estimate, same.ci_low, same.ci_high) == (0.0, 0.0, 0.0)
    assert not same.excludes_zero
    for metric in ("auc", "p@50"):
        d = paired_bootstrap(
            w["labels"], w["good"], w["good_too"], metric=metric, n_boot=500, seed=2
        )
        assert d.ci_low < 0 < d.ci_high


def test_same_seed_same_answer() -> None:
    w = orders_world(500)
    args = (w["labels"], w["good"], w["random"])
    a = paired_bootstrap(*args, metric="auc", n_boot=100, seed=7)
    assert a == paired_bootstrap(*args, metric="auc", n_boot=100, seed=7)
    assert a != paired_bootstrap(*args, metric="auc", n_boot=100, seed=8)


def test_groups_resample_whole_groups() -> None:
    """A provider seen at five cut-offs is one unit: its copies must not count as evidence."""
    base = orders_world(600, seed=3)
    repeat = 5
    y, a, b = (np.repeat(base[key], repeat) for key in ("labels", "good", "good_too"))
    provider = np.repeat(np.arange(600), repeat)
    by_row = paired_bootstrap(y, a, b, metric="auc", n_boot=400, seed=4)
    by_provider = paired_bootstrap(y, a, b, metric="auc", n_boot=400, seed=4, groups=provider)
    assert by_row.estimate == by_provider.estimate
    width = {k: d.ci_high - d.ci_low for k, d in (("row", by_row), ("group", by_provider))}
    assert width["group"] > 1.6 * width["row"]  # about sqrt(5) wider
    # one group per row is row resampling, draw for draw
    singletons = paired_bootstrap(
        y, a, b, metric="auc", n_boot=400, seed=4, groups=[f"p{i}" for i in range(len(y))]
    )
    assert singletons == by_row


def test_bootstrap_inputs_checked() -> None:
    with pytest.raises(InputError) as info:
        paired_bootstrap(
            [0, 1, 1], [0.1, 0.5, 2.0], [0.2, 0.4], metric="brier", n_boot=0, seed=-1, groups=[1, 2]
        )
    fields = {p.field for p in info.value.problems}
    assert fields == {"scores_a", "scores_b", "n_boot", "seed", "groups"}
    with pytest.raises(InputError, match="both outcomes"):
        paired_bootstrap([1, 1], [1, 2], [2, 1], metric="auc", seed=0)
    with pytest.raises(InputError, match="p@<k>"):
        paired_bootstrap([1, 0], [1, 2], [2, 1], metric="p@0", seed=0)
    with pytest.raises(InputError, match="missing group"):
        paired_bootstrap([1, 0], [1, 2], [2, 1], metric="auc", seed=0, groups=["a", None])


# -- compare_orders -------------------------------------------------------------------------


def test_compare_orders_table() -> None:
    w = orders_world()
    y = w["labels"]
    orders = {"model": w["truth"], "noisy": w["good"], "random": w["random"]}
    frame = compare_orders(
        y,
        orders,
        reference="model",
        n_boot=300,
        seed=5,
        probabilities={"model": w["truth"], "random": w["random"]},
    )
    assert list(frame.columns) == [
        "order",
        "metric",
        "value",
        "difference",
        "ci_low",
        "ci_high",
        "resamples",
    ]
    metrics = frame.groupby("order", sort=False)["metric"].apply(list).to_dict()
    assert metrics == {
        "model": ["p@25", "p@50", "p@100", "auc", "brier"],
        "noisy": ["p@25", "p@50", "p@100", "auc"],  # no probabilities: no Brier
        "random": ["p@25", "p@50", "p@100", "auc", "brier"],
    }
    cell = frame.set_index(["order", "metric"])
    assert cell.loc[("model", "auc"), "value"] == pytest.approx(auc(y, w["truth"]))
    assert cell.loc[("noisy", "p@50"), "value"] == precision_at_k(y, w["good"], k=50)
    assert cell.loc[("random", "brier"), "value"] == pytest.approx(brier(y, w["random"]))
    assert cell.loc["model", "difference"].isna().all()  # the reference itself
    assert cell.loc[("random", "auc"), "ci_high"] < 0
    assert cell.loc[("random", "brier"), "ci_low"] > 0
    assert cell.loc[("random", "auc"), "resamples"] == 300
    # the same resamples as paired_bootstrap with the same seed
    d = paired_bootstrap(y, w["good"], w["truth"], metric="p@50", n_boot=300, seed=5)
    row = cell.loc[("noisy", "p@50")]
    assert (row["difference"], row["ci_low"], row["ci_high"]) == (d.estimate, d.ci_low, d.ci_high)
    wide = frame.pivot(index="order", columns="metric", values="value")
    assert wide.shape == (3, 5) and np.isnan(wide.loc["noisy", "brier"])


def test_compare_orders_groups_and_checks() -> None:
    w = orders_world(400)
    orders = {"a": w["good"], "b": w["random"]}
    groups = np.arange(400) // 4
    frame = compare_orders(
        w["labels"], orders, reference="b", ks=(10,), n_boot=100, seed=0, groups=groups
    )
    assert frame["metric"].tolist() == ["p@10", "auc", "p@10", "auc"]
    assert frame.loc[frame["order"] == "a", "difference"].gt(0).all()
    with pytest.raises(InputError) as info:
        compare_orders(
            w["labels"],
            {"a": w["good"], "b": w["random"][:10]},
            reference="c",
            ks=(0,),
            seed=0,
            probabilities={"z": w["truth"]},
        )
    fields = {p.field for p in info.value.problems}
    assert fields == {"ks", "reference", "probabilities", "orders['b']"}


def test_one_outcome_gives_nan_auc_in_the_table() -> None:
    frame = compare_orders(
        [1, 1, 1], {"a": [1, 2, 3], "b": [3, 2, 1]}, reference="a", ks=(1,), n_boot=20, seed=0
    )
    cell = frame.set_index(["order", "metric"])
    assert np.isnan(cell.loc[("b", "auc"), "value"]) and cell.loc[("b", "auc"), "resamples"] == 0
    assert cell.loc[("b", "p@1"), "value"] == 1.0
    assert isinstance(frame, pd.DataFrame)
