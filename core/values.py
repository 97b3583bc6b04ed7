"""Turning DataFrame cell values into plain Python for the database and JSON."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """``value`` as a plain Python object: numpy scalars unwrapped, NaN/NaT/NA as None.

    Examples
    --------
    >>> plain(np.int64(3)), plain(float("nan")), plain(pd.NaT), plain("x")
    (3, None, None, 'x')
    """
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def json_value(value: Any) -> Any:
    """:func:`plain`, with dates as ISO strings, through nested dicts and lists (JSON columns)."""
    if value is None or type(value) is str:  # the common case, first
        return value
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    value = plain(value)
    return value.isoformat() if isinstance(value, date) else value
