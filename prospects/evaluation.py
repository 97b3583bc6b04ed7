"""How good a ranking of prospects is, with intervals: the one definition of each metric.

Used by the backtest (:mod:`prospects.rolling`) and by benchmarks. Pure
functions (:func:`calibration_plot` writes the PNG it is asked for) that check
their inputs at the boundary: labels booleans (or 0/1), scores numbers
(``inf`` allowed, never NaN), probabilities in [0, 1], one value per row; every
problem is raised at once in a :class:`core.errors.InputError`.

Metrics, higher scores ranking first: ``p@k`` (:func:`precision_at_k`), the
share of positives among the first ``k`` rows, ties broken by row position
(the earlier row first; in a bootstrap resample each copy of a row keeps that
row's position); ``auc`` (:func:`auc`), the probability that a positive ranks
above a negative, a tie counting one half; ``brier`` (:func:`brier`), the mean
squared error of probabilities (lower is better).

Intervals: exact (Clopper-Pearson) binomial intervals of each calibration bin's
observed rate (:func:`calibration_bins`), and percentile bootstrap intervals
of the difference between two orders of the same rows, both measured on the
same resamples (:func:`paired_bootstrap`, :func:`compare_orders`). A resample
draws rows, or whole groups (e.g. provider ids when a provider appears at
several cut-offs), with replacement; each metric is computed from the copies
of each row, without sorting per resample: 1,000 resamples of 100,000 rows
take seconds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from core.checks import finite_number, whole_number
from core.errors import InputError, Problem

__all__ = [
    "BINS_COLUMNS",
    "PairedDifference",
    "auc",
    "brier",
    "calibration_bins",
    "calibration_plot",
    "clopper_pearson",
    "compare_orders",
    "paired_bootstrap",
    "precision_at_k",
]

BINS_COLUMNS = (
    "bin",
    "lower",
    "upper",
    "count",
    "mean_predicted",
    "observed_rate",
    "ci_low",
    "ci_high",
    "within_interval",
)
"""Columns of the :func:`calibration_bins` frame, in order."""

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


def _array(values: ArrayLike, field: str, kind: str, problems: list[Problem]) -> np.ndarray | None:
    """A checked vector: ``kind`` "labels" as bool; "scores", "probabilities" as float."""
    arr = np.asarray(values)
    if arr.ndim != 1 or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        shown = f"{arr.dtype}, shape {arr.shape}"
        problems.append(
            Problem("must be a one-dimensional vector of numbers", field=field, value=shown)
        )
        return None
    if kind == "labels":
        bad, message = ~np.isin(arr, (0, 1)), "are neither booleans nor 0/1"
    else:
        arr = arr.astype(float)
        bad, message = np.isnan(arr), "are NaN"
        if kind == "probabilities":
            bad, message = bad | (arr < 0) | (arr > 1), "are NaN or outside [0, 1]"
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        shown = f"row {first}: {arr[first]}"
        problems.append(Problem(f"{int(bad.sum())} value(s) {message}", field=field, value=shown))
        return None
    return arr.astype(bool) if kind == "labels" else arr


def _group_codes(groups: ArrayLike, n: int, problems: list[Problem]) -> np.ndarray | None:
    """Group codes 0..G-1 per row."""
    raw = np.asarray(groups, dtype=object)
    codes = pd.factorize(pd.Series(raw))[0] if raw.ndim == 1 else np.empty(0, dtype=np.intp)
    if len(codes) != n:
        problems.append(Problem(f"must be one value per row ({n})", field="groups"))
    elif (codes < 0).any():
        first = int(np.flatnonzero(codes < 0)[0])
        problems.append(Problem("missing group", field="groups", value=f"row {first}"))
    else:
        return codes
    return None


def _inputs(
    what: str,
    labels: ArrayLike,
    vectors: Mapping[str, tuple[ArrayLike, str]],
    problems: list[Problem],
    *,
    groups: ArrayLike | None = None,
    both_outcomes: bool = False,
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """Labels, each vector (field: values, kind) and group codes, checked; raise every problem once."""
    y = _array(labels, "labels", "labels", problems)
    arrays = {field: _array(v, field, kind, problems) for field, (v, kind) in vectors.items()}
    codes = None
    if y is not None:
        if len(y) == 0:
            problems.append(Problem("no rows", field="labels"))
        elif both_outcomes and (y.all() or not y.any()):
            problems.append(Problem("AUC needs both outcomes among the labels", field="labels"))
        for field, arr in arrays.items():
            if arr is not None and len(arr) != len(y):
                problems.append(Problem(f"has {len(arr)} values for {len(y)} labels", field=field))
        if groups is not None:
            codes = _group_codes(groups, len(y), problems)
    if problems:
        raise InputError(f"cannot compute {what}", problems=problems)
    return y, arrays, codes


def _check_boot(n_boot: object, seed: object, level: object, problems: list[Problem]) -> None:
    whole_number(n_boot, field="n_boot", problems=problems, ge=1)
    whole_number(seed, field="seed", problems=problems, ge=0)
    finite_number(level, field="level", problems=problems, gt=0, lt=1)


@dataclass(frozen=True)
class _Ranked:
    """One order of the rows, prepared once for every resample."""

    perm: np.ndarray  # row indices, best first (stable: earlier row first on ties)
    y: np.ndarray  # labels in that order, as 0.0/1.0
    starts: np.ndarray | None  # first position of each run of equal scores; None: no tie
    sq_error: np.ndarray | None  # (probability - label)^2 per row, in row order

    @classmethod
    def of(cls, labels: np.ndarray, scores: np.ndarray, probs: np.ndarray | None = None) -> _Ranked:
        perm = np.argsort(-scores, kind="stable")
        ordered = scores[perm]
        new = np.r_[True, ordered[1:] != ordered[:-1]]
        return cls(
            perm=perm,
            y=labels[perm].astype(float),
            starts=None if new.all() else np.flatnonzero(new),
            sq_error=None if probs is None else (probs - labels) ** 2,
        )


def _auc_counts(r: _Ranked, counts: np.ndarray) -> np.ndarray:
    """AUC of each resample (rows of ``counts``: copies of each row); NaN with one outcome.

    The Mann-Whitney statistic from the positives' rank sum, ranks ascending
    with ties at their mid-rank: ``(R - P (P + 1) / 2) / (P N)``.
    """
    ordered = counts[:, r.perm]  # best first
    pos = ordered * r.y
    if r.starts is not None:  # one column per run of equal scores
        ordered = np.add.reduceat(ordered, r.starts, axis=1)
        pos = np.add.reduceat(pos, r.starts, axis=1)
    total, n_pos = ordered.sum(axis=1), pos.sum(axis=1)
    # a run's copies have ascending ranks total - cum + 1 .. total - cum + its copies
    rank_sum = (
        n_pos * (total + 0.5)
        - np.einsum("ij,ij->i", pos, np.cumsum(ordered, axis=1))
        + 0.5 * np.einsum("ij,ij->i", pos, ordered)
    )
    pairs = n_pos * (total - n_pos)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, (rank_sum - n_pos * (n_pos + 1) / 2) / pairs, np.nan)


def _precision_counts(r: _Ranked, counts: np.ndarray, ks: Sequence[int]) -> dict[int, np.ndarray]:
    """precision@k of each resample for every k, from the first rows of the order only."""
    n, k_max = counts.shape[1], max(ks)
    width = min(n, 2 * k_max + 64)
    while True:
        top = counts[:, r.perm[:width]]
        before = np.cumsum(top, axis=1) - top
        if width == n or (before[:, -1] + top[:, -1] >= k_max).all():
            break
        width = min(n, width * 4)
    total = counts.sum(axis=1)
    out = {}
    for k in ks:
        taken = np.minimum(top, np.maximum(k - before, 0))
        out[k] = np.einsum("ij,j->i", taken, r.y[:width]) / np.minimum(k, total)
    return out


def _evaluate(r: _Ranked, counts: np.ndarray, metrics: Sequence[str]) -> dict[str, np.ndarray]:
    """Every metric of ``metrics`` for each resample of ``counts`` (batch x rows)."""
    out: dict[str, np.ndarray] = {}
    ks = [int(m[2:]) for m in metrics if m.startswith("p@")]
    if ks:
        out.update({f"p@{k}": v for k, v in _precision_counts(r, counts, ks).items()})
    if "auc" in metrics:
        out["auc"] = _auc_counts(r, counts)
    if "brier" in metrics and r.sq_error is not None:
        out["brier"] = np.einsum("ij,j->i", counts, r.sq_error) / counts.sum(axis=1)
    return out


def _on_sample(r: _Ranked, metrics: Sequence[str]) -> dict[str, float]:
    ones = np.ones((1, len(r.perm)))
    return {m: float(v[0]) for m, v in _evaluate(r, ones, metrics).items()}


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
    ranked: Sequence[_Ranked],
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
            for m, v in _evaluate(r, counts, metrics).items():
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


def precision_at_k(labels: ArrayLike, scores: ArrayLike, *, k: int) -> float:
    """Share of positives among the ``k`` highest-scored rows.

    Parameters
    ----------
    labels
        Outcome of each row (booleans or 0/1).
    scores
        Higher ranks first; ties are broken by row position (earlier first).
    k
        Size of the top list; with fewer than ``k`` rows, all rows count and
        the denominator is their number (``hits / min(k, n)``).

    Raises
    ------
    InputError
        Bad labels or scores, unequal lengths, no rows, or ``k`` below 1.
    """
    problems: list[Problem] = []
    whole_number(k, field="k", problems=problems, ge=1)
    y, v, _ = _inputs("precision@k", labels, {"scores": (scores, "scores")}, problems)
    return _on_sample(_Ranked.of(y, v["scores"]), [f"p@{k}"])[f"p@{k}"]


def auc(labels: ArrayLike, scores: ArrayLike) -> float | None:
    """Probability that a positive row is scored above a negative one (ties count one half).

    The area under the ROC curve (as :func:`sklearn.metrics.roc_auc_score`);
    None when every label is the same.

    Raises
    ------
    InputError
        Bad labels or scores, unequal lengths, or no rows.
    """
    y, v, _ = _inputs("AUC", labels, {"scores": (scores, "scores")}, [])
    value = _on_sample(_Ranked.of(y, v["scores"]), ["auc"])["auc"]
    return None if np.isnan(value) else value


def brier(labels: ArrayLike, probabilities: ArrayLike) -> float:
    """Mean of ``(probability - label)^2``: 0 is perfect, lower is better.

    Raises
    ------
    InputError
        Bad labels, probabilities NaN or outside [0, 1], unequal lengths, or no rows.
    """
    vectors = {"probabilities": (probabilities, "probabilities")}
    y, v, _ = _inputs("the Brier score", labels, vectors, [])
    p = v["probabilities"]
    return _on_sample(_Ranked.of(y, p, p), ["brier"])["brier"]


def clopper_pearson(
    successes: ArrayLike, trials: ArrayLike, *, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) binomial interval of ``successes / trials``, elementwise.

    Beta quantiles: ``Beta(x, n - x + 1)`` at ``(1 - level) / 2`` (0 when
    ``x = 0``) and ``Beta(x + 1, n - x)`` at ``(1 + level) / 2`` (1 when
    ``x = n``), as ``scipy.stats.binomtest(x, n).proportion_ci(method="exact")``.
    Callers pass counts they computed (``0 <= x <= n``, ``n >= 1``): not checked.
    """
    x, n = np.asarray(successes, dtype=float), np.asarray(trials, dtype=float)
    tail = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(x > 0, stats.beta.ppf(tail, x, n - x + 1), 0.0)
        high = np.where(x < n, stats.beta.ppf(1 - tail, x + 1, n - x), 1.0)
    return low, high


def calibration_bins(
    labels: ArrayLike,
    probabilities: ArrayLike,
    *,
    bins: int = 10,
    strategy: Literal["quantile", "uniform"] = "quantile",
    min_count: int = 1,
    level: float = 0.95,
) -> pd.DataFrame:
    """Reliability table: per bin of predicted probability, the observed rate and its interval.

    Parameters
    ----------
    labels
        Outcome of each row (booleans or 0/1).
    probabilities
        Predicted probability of each row, in [0, 1].
    bins
        Number of bins asked for.
    strategy
        ``"quantile"``: (about) equal counts, edges at the quantiles of the
        probabilities (equal edges merge, so there may be fewer bins);
        ``"uniform"``: equal widths over [0, 1]. A bin holds ``lower <= p <
        upper``, the last one its upper edge too.
    min_count
        Bins with fewer rows are left out (empty bins always are); ``bin``
        keeps each bin's place, so a gap shows.
    level
        Confidence of the intervals.

    Returns
    -------
    pandas.DataFrame
        :data:`BINS_COLUMNS`: ``bin`` (0-based), its edges ``lower`` and ``upper``,
        ``count``, ``mean_predicted``, ``observed_rate``, the exact
        Clopper-Pearson interval of the observed rate ``ci_low``/``ci_high``
        (:func:`clopper_pearson`) and ``within_interval``: whether
        ``mean_predicted`` lies in it. With calibrated probabilities a bin is
        within its interval with probability at least ``level``.

    Raises
    ------
    InputError
        Bad labels or probabilities, unequal lengths, no rows, or bad options.
    """
    problems: list[Problem] = []
    whole_number(bins, field="bins", problems=problems, ge=1)
    whole_number(min_count, field="min_count", problems=problems, ge=1)
    finite_number(level, field="level", problems=problems, gt=0, lt=1)
    if strategy not in ("quantile", "uniform"):
        shown = str(strategy)
        problems.append(Problem("must be 'quantile' or 'uniform'", field="strategy", value=shown))
    vectors = {"probabilities": (probabilities, "probabilities")}
    y, v, _ = _inputs("calibration bins", labels, vectors, problems)
    cuts = np.linspace(0.0, 1.0, bins + 1)
    p = v["probabilities"]
    edges = cuts if strategy == "uniform" else np.unique(np.quantile(p, cuts))
    return _bin_table(y, p, edges, min_count=min_count, level=level)


def _bin_table(
    y: np.ndarray, p: np.ndarray, edges: np.ndarray, *, min_count: int, level: float
) -> pd.DataFrame:
    last = max(len(edges) - 2, 0)  # all edges equal: one bin
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, last)
    count = np.bincount(which, minlength=last + 1)
    index = np.flatnonzero(count >= min_count)
    n = count[index]
    x = np.bincount(which, weights=y, minlength=last + 1)[index]
    mean_p = np.bincount(which, weights=p, minlength=last + 1)[index] / n
    low, high = clopper_pearson(x, n, level=level)
    columns = (index, edges[index], edges[np.minimum(index + 1, len(edges) - 1)], n, mean_p)
    columns += (x / n, low, high, (low <= mean_p) & (mean_p <= high))
    return pd.DataFrame(dict(zip(BINS_COLUMNS, columns)))


def calibration_plot(bins_frame: pd.DataFrame, path: str | Path, *, title: str) -> Path:
    """Write a reliability diagram of a :func:`calibration_bins` table as a PNG; return its path.

    Observed rate against mean predicted probability, the intervals as error
    bars (bins whose interval misses the prediction as open red squares) and
    the diagonal of perfect calibration. Drawn on matplotlib's Agg canvas: no
    display, and pyplot's global state is left alone.

    Raises
    ------
    InputError
        The frame lacks a column of :data:`BINS_COLUMNS`, or the folder of
        ``path`` does not exist.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    missing = [c for c in BINS_COLUMNS if c not in bins_frame.columns]
    problems = [Problem("required column is missing", field=c) for c in missing]
    if not path.parent.is_dir():
        problems.append(Problem("folder does not exist", field="path", value=str(path.parent)))
    if problems:
        raise InputError("cannot draw the calibration plot", problems=problems)
    fig = Figure(figsize=(5.5, 5.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    styles = {True: ("o", "tab:blue", "prediction within the interval"), False: ("s", "none", "")}
    for inside, (marker, face, label) in styles.items():
        part = bins_frame[bins_frame["within_interval"].astype(bool) == inside]
        if part.empty:
            continue
        rate = part["observed_rate"].to_numpy(float)
        low, high = part["ci_low"].to_numpy(float), part["ci_high"].to_numpy(float)
        ax.errorbar(
            part["mean_predicted"].to_numpy(float),
            rate,
            yerr=[rate - low, high - rate],
            fmt=marker,
            color="tab:blue" if inside else "tab:red",
            mfc=face,
            capsize=3,
            label=label or "prediction outside the interval",
        )
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability", ylabel="observed rate")
    ax.set_title(title)
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize="small")
    fig.savefig(path, format="png")
    return path


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
    _check_boot(n_boot, seed, level, problems)
    kind = "probabilities" if metric == "brier" else "scores"
    vectors = {"scores_a": (scores_a, kind), "scores_b": (scores_b, kind)}
    y, v, codes = _inputs(
        "the paired bootstrap",
        labels,
        vectors,
        problems,
        groups=groups,
        both_outcomes=metric == "auc",
    )
    a, b = v["scores_a"], v["scores_b"]
    ra, rb = (_Ranked.of(y, s, s if kind == "probabilities" else None) for s in (a, b))
    estimate = _on_sample(ra, [metric])[metric] - _on_sample(rb, [metric])[metric]
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
    _check_boot(n_boot, seed, level, problems)
    score_field = {n: f"orders[{n!r}]" for n in orders}
    prob_field = {n: f"probabilities[{n!r}]" for n in probabilities}
    vectors = {score_field[n]: (s, "scores") for n, s in orders.items()}
    vectors |= {prob_field[n]: (p, "probabilities") for n, p in probabilities.items()}
    what = "the comparison of orders"
    y, v, codes = _inputs(what, labels, vectors, problems, groups=groups)
    names = list(orders)
    ranked = [_Ranked.of(y, v[score_field[n]], v.get(prob_field.get(n, ""))) for n in names]
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
    ranked: list[_Ranked],
    boot: list[dict[str, np.ndarray]],
    metrics: list[str],
    level: float,
) -> pd.DataFrame:
    point = [_on_sample(r, metrics) for r in ranked]
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
