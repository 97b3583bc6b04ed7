"""Calibration: per bin of predicted probability, the observed rate and its exact interval.

Exact (Clopper-Pearson) binomial intervals (:func:`clopper_pearson`) of each
bin's observed rate (:func:`calibration_bins`): with calibrated probabilities
a bin's mean prediction lies within its interval with probability at least
the level. Drawn as a reliability diagram by :mod:`prospects.calibration_plot`.
Inputs are checked by :mod:`prospects.metric_inputs`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from core.checks import finite_number, whole_number
from core.errors import Problem
from prospects.metric_inputs import check_inputs

__all__ = ["BINS_COLUMNS", "calibration_bins", "clopper_pearson"]

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
    y, v, _ = check_inputs("calibration bins", labels, vectors, problems)
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
