"""Dates in files whose format is declared, or detected per column.

A column of dates is read with one format (``strftime`` codes): the one the
mapping declares, else the candidate that reads the most values. A bare year
(``1972``, as forms often hold when the day is unknown) is kept as the year
alone, so it still agrees on the year. When the
values read as well day-first as month-first (no day above 12 anywhere), the
column is ambiguous: the country decides (month-first for the US, day-first
elsewhere) and the caller is told, so the user can declare it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

#: Formats tried when a column's format is not declared, most specific first.
CANDIDATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d",
    "%Y%m%d",
    "%Y/%m/%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%Y",
)
_SWAPPED = {"%d/%m/%Y": "%m/%d/%Y", "%d-%m-%Y": "%m-%d-%Y"}
_SWAPPED |= {v: k for k, v in _SWAPPED.items()}


@dataclass(frozen=True)
class DateColumn:
    """A column read as ISO dates (``YYYY-MM-DD``, ``None`` where unreadable or blank)."""

    values: list[str | None]
    format: str | None
    #: why the format is in doubt ("" when it is not)
    ambiguity: str
    unreadable: int
    examples: tuple[str, ...]


def _parse(values: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(values, format=fmt, errors="coerce")


def read_dates(
    values: Iterable[object], *, date_format: str | None = None, country: str | None = None
) -> DateColumn:
    """Read a column of dates with its declared ``date_format``, else the detected one.

    Parameters
    ----------
    values
        Raw texts (blank and ``None`` are missing, not unreadable).
    date_format
        ``strftime`` codes declared by the user (e.g. ``"%d/%m/%Y"``).
    country
        Decides an ambiguous day/month order: month first for ``"US"``.
    """
    fmt = date_format
    raw = pd.Series(list(values), dtype=object).map(
        lambda v: v.strip() if isinstance(v, str) else None
    )
    present = raw.notna() & (raw != "")
    text = raw[present]
    ambiguity = ""
    if fmt is None and len(text):
        counts = {f: int(_parse(text, f).notna().sum()) for f in CANDIDATE_FORMATS}
        fmt = max(CANDIDATE_FORMATS, key=lambda f: counts[f])  # first of the best
        other = _SWAPPED.get(fmt)
        if other and counts[other] == counts[fmt]:
            month_first = country == "US"
            fmt = next(f for f in (fmt, other) if f.startswith("%m") == month_first)
            order = "month/day" if month_first else "day/month"
            ambiguity = (
                f"every value reads both day-first and month-first; read as {order} "
                f"({fmt}); declare the format if that is wrong"
            )
    parsed = _parse(text, fmt) if fmt and len(text) else pd.Series(pd.NaT, index=text.index)
    iso = pd.Series(None, index=raw.index, dtype=object)
    iso[present] = parsed.dt.strftime("%Y-%m-%d").where(parsed.notna(), None)
    year_only = parsed.isna() & text.str.fullmatch(r"(18|19|20)\d\d")
    iso[year_only[year_only].index] = text[year_only]
    bad = text[parsed.isna() & ~year_only]
    return DateColumn(
        values=[v if isinstance(v, str) else None for v in iso.tolist()],
        format=fmt,
        ambiguity=ambiguity,
        unreadable=len(bad),
        examples=tuple(dict.fromkeys(bad.tolist()))[:5],
    )
