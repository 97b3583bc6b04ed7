"""The input checks every ranking metric, calibration table and bootstrap shares.

Labels are booleans (or 0/1), scores numbers (``inf`` allowed, never NaN),
probabilities in [0, 1], one value per row (and per group code, when rows are
resampled by group); every problem is collected and raised at once in a
:class:`core.errors.InputError`, so a caller fixes its inputs in one go.
Used by :mod:`prospects.ranking_metrics`, :mod:`prospects.calibration` and
:mod:`prospects.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from core.checks import finite_number, whole_number
from core.errors import InputError, Problem

__all__ = ["check_boot", "check_inputs"]


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


def check_inputs(
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


def check_boot(n_boot: object, seed: object, level: object, problems: list[Problem]) -> None:
    """Add the problems of a bootstrap's ``n_boot``, ``seed`` and ``level`` to ``problems``."""
    whole_number(n_boot, field="n_boot", problems=problems, ge=1)
    whole_number(seed, field="seed", problems=problems, ge=0)
    finite_number(level, field="level", problems=problems, gt=0, lt=1)
