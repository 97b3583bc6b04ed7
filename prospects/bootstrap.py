"""Paired bootstrap: the difference of a metric between two orders of the same rows.

Percentile bootstrap intervals of the difference between two orders of the
same rows, both measured on the same resamples (:func:`paired_bootstrap`,
:func:`compare_orders`): the variation of the rows drawn, shared by both,
cancels out of the difference. A resample draws rows, or whole groups (e.g.
provider ids when a provider appears at several cut-offs), with replacement;
each metric of :mod:`prospects.ranking_metrics` is computed from the copies of
each row, without sorting per resample: 1,000 resamples of 100,000 rows take
seconds. Used by the backtest (:mod:`prospects.rolling`) and by benchmarks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from core.checks import whole_number
from core.errors import Problem
from prospects.metric_inputs import check_boot, check_inputs
from prospects.ranking_metrics import Ranked, evaluate, on_sample

__all__ = ["PairedDifference", "compare_orders", "paired_bootstrap"]

_METRIC = re.compile(r"^(?:auc|brier|p@[1-9][0-9]*)$")
_CELLS = 1 << 17  # resample counts held at once (batch x rows): 1 MB of float64, in cache


@dataclass(frozen=True)
class PairedDifference:
    """A metric's difference between two orders of the same rows (a - b), with its interval.

    ``estimate`` is measured on the rows as given; ``ci_low``/``ci_high`` is the
    percentile interval of the differences over the ``resamples`` of the
    ``n_boot`` drawn where the metric was defined for both orders (AUC is not
    on a resample with a single outcome; no such resample: NaN).
    """

    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    n_boot: int
    resamples: int

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of 0."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


def _resample_counts(
    n: int, codes: np.ndarray | None, n_boot: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Batches of resamples as copies per row (batch x n): rows, or whole groups, with replacement."""
    units = n if codes is None else int(codes.max()) + 1
    per = max(1, _CELLS // max(n, units))
    for start in range(0, n_boot, per):
        b = min(per, n_boot - start)
        draws = rng.integers(0, units, size=(b, units), dtype=np.int32)  # units < 2^31
        counts = np.stack([np.bincount(d, minlength=units) for d in draws]).astype(float)
        yield counts if codes is None else counts[:, codes]


def _bootstrap(
    ranked: Sequence[Ranked],
    metrics: Sequence[str],
    *,
    codes: np.ndarray | None,
    n_boot: int,
    seed: int,
) -> list[dict[str, np.ndarray]]:
    """Each metric of each order on the same ``n_boot`` resamples (one array per metric)."""
    rng = np.random.default_rng(seed)
    parts: list[dict[str, list[np.ndarray]]] = [{} for _ in ranked]
    for counts in _resample_counts(len(ranked[0].perm), codes, n_boot, rng):
        for r, acc in zip(ranked, parts):
            for m, v in evaluate(r, counts, metrics).items():
                acc.setdefault(m, []).append(v)
    return [{m: np.concatenate(v) for m, v in acc.items()} for acc in parts]


def _difference(
    metric: str, estimate: float, a: np.ndarray, b: np.ndarray, level: float
) -> PairedDifference:
    diffs = a - b
    diffs = diffs[~np.isnan(diffs)]
    tail = (1 - level) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail]) if len(diffs) else (np.nan, np.nan)
    return PairedDifference(metric, estimate, float(low), float(high), len(a), len(diffs))


def paired_bootstrap(
    labels: ArrayLike,
    scores_a: ArrayLike,
    scores_b: ArrayLike,
    *,
    metric: str,
    n_boot: int = 1000,
    seed: int,
    groups: ArrayLike | None = None,
    level: float = 0.95,
) -> PairedDifference:
    """Difference of ``metric`` between two orders of the same rows (a - b), with its interval.

    Both orders are measured on the same resamples (paired): the variation
    of the rows drawn, shared by both, cancels out of the difference.

    Parameters
    ----------
    labels
        Outcome of each row (booleans or 0/1).
    scores_a, scores_b
        The two orders' scores (probabilities in [0, 1] for ``"brier"``).
    metric
        ``"auc"``, ``"brier"`` or ``"p@<k>"`` (``"p@25"``, ``"p@50"``, ``"p@100"``, ...).
    n_boot
        Resamples drawn.
    seed
        Seed of the resampling (same seed and rows, same resamples).
    groups
        One value per row: resample whole groups (their rows together);
        None resamples rows.
    level
        Confidence of the percentile interval.

    Raises
    ------
    InputError
        Bad inputs, an unknown metric, or AUC with a single outcome.
    """
    problems: list[Problem] = []
    if not isinstance(metric, str) or not _METRIC.match(metric):
        hint = "must be 'auc', 'brier' or 'p@<k>' (e.g. 'p@50')"
        problems.append(Problem(hint, field="metric", value=str(metric)))
    check_boot(n_boot, seed, level, problems)
    kind = "probabilities" if metric == "brier" else "scores"
    vectors = {"scores_a": (scores_a, kind), "scores_b": (scores_b, kind)}
    y, v, codes = check_inputs(
        "the paired bootstrap",
        labels,
        vectors,
        problems,
        groups=groups,
        both_outcomes=metric == "auc",
    )
    a, b = v["scores_a"], v["scores_b"]
    ra, rb = (Ranked.of(y, s, s if kind == "probabilities" else None) for s in (a, b))
    estimate = on_sample(ra, [metric])[metric] - on_sample(rb, [metric])[metric]
    boot_a, boot_b = _bootstrap([ra, rb], [metric], codes=codes, n_boot=n_boot, seed=seed)
    return _difference(metric, estimate, boot_a[metric], boot_b[metric], level)


def compare_orders(
    labels: ArrayLike,
    orders: Mapping[str, ArrayLike],
    *,
    reference: str,
    ks: Sequence[int] = (25, 50, 100),
    n_boot: int = 1000,
    seed: int,
    groups: ArrayLike | None = None,
    probabilities: Mapping[str, ArrayLike] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Every metric of every order, and each order's paired difference from ``reference``.

    Parameters
    ----------
    labels
        Outcome of each row (booleans or 0/1).
    orders
        Scores of each order by name (higher ranks first).
    reference
        The order the others are compared with (e.g. the current profile).
    ks
        The ``k`` of each precision@k.
    n_boot, seed, groups, level
        The resampling, as in :func:`paired_bootstrap`; every order is measured
        on the same resamples (the same as :func:`paired_bootstrap`'s for the
        same seed).
    probabilities
        Predicted probability per row of the orders that have one (by name):
        their Brier score, and its difference where the reference has one too.

    Returns
    -------
    pandas.DataFrame
        Tidy, one row per order and metric (``p@<k>`` for each k, ``auc``,
        ``brier``): ``order``, ``metric``, ``value`` (NaN for AUC with a single
        outcome), ``difference`` (value minus the reference's; NaN on the
        reference's rows), its percentile interval ``ci_low``/``ci_high``, and
        ``resamples`` (those where both were defined).
        ``frame.pivot(index="order", columns="metric", values="value")`` gives
        one row per order.

    Raises
    ------
    InputError
        Bad inputs, an unknown reference, probabilities of no order, or a bad ``k``.
    """
    probabilities = dict(probabilities or {})
    problems = _order_problems(orders, reference, ks, probabilities)
    check_boot(n_boot, seed, level, problems)
    score_field = {n: f"orders[{n!r}]" for n in orders}
    prob_field = {n: f"probabilities[{n!r}]" for n in probabilities}
    vectors = {score_field[n]: (s, "scores") for n, s in orders.items()}
    vectors |= {prob_field[n]: (p, "probabilities") for n, p in probabilities.items()}
    what = "the comparison of orders"
    y, v, codes = check_inputs(what, labels, vectors, problems, groups=groups)
    names = list(orders)
    ranked = [Ranked.of(y, v[score_field[n]], v.get(prob_field.get(n, ""))) for n in names]
    metrics = [*dict.fromkeys(f"p@{k}" for k in ks), "auc", "brier"]
    boot = _bootstrap(ranked, metrics, codes=codes, n_boot=n_boot, seed=seed)
    return _comparison(names, names.index(reference), ranked, boot, metrics, level)


def _order_problems(
    orders: Mapping[str, ArrayLike], reference: str, ks: Sequence[int], probabilities: dict
) -> list[Problem]:
    problems: list[Problem] = []
    for k in ks:
        whole_number(k, field="ks", problems=problems, ge=1)
    if reference not in orders:
        problems.append(Problem("names no order", field="reference", value=str(reference)))
    for name in set(probabilities) - set(orders):
        problems.append(Problem("names no order", field="probabilities", value=str(name)))
    return problems


def _comparison(
    names: list[str],
    ref: int,
    ranked: list[Ranked],
    boot: list[dict[str, np.ndarray]],
    metrics: list[str],
    level: float,
) -> pd.DataFrame:
    point = [on_sample(r, metrics) for r in ranked]
    rows = []
    for i, name in enumerate(names):
        for m, value in point[i].items():
            row = {"order": name, "metric": m, "value": value}
            if i != ref and m in point[ref]:
                d = _difference(m, value - point[ref][m], boot[i][m], boot[ref][m], level)
                row |= {"difference": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high}
                row["resamples"] = d.resamples
            rows.append(row)
    columns = ["order", "metric", "value", "difference", "ci_low", "ci_high", "resamples"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"resamples": "Int64"})
