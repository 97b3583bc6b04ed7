"""Turning DataFrame cell values into plain Python for the database and JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, overload

import numpy as np
import pandas as pd


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as a timezone-aware UTC datetime.

    SQLite hands back the naive datetimes it was given, which this service
    always stores as UTC; PostgreSQL hands back aware ones, left as they are.
    """
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


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
