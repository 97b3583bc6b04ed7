"""Tests for prospects.bootstrap: paired intervals and the comparison of orders."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from prospects.bootstrap import compare_orders, paired_bootstrap
from prospects.ranking_metrics import auc, brier, precision_at_k


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
