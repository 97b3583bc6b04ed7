"""Referral volume per referrer, referrer tiers and short-term trend.

Windows, *referring* and *tier* are the terms of :mod:`prospects.terms`
(windows half-open on the past side: with ``as_of`` = day D and a window of
N days, an event on day E is inside when ``D - N < E <= D``). Events dated
after D are ignored everywhere (also in ``referrals_total``), so stats can be
recomputed for a past ``as_of`` from the full history.

* ``referrals_window`` counts events in the referring window ``(D - window_days, D]``;
  ``referring`` and ``tier`` follow from it (:func:`prospects.terms.is_referring`,
  :func:`prospects.terms.tier_of`; tier None: no referral in the window).
* ``last_30d`` counts events in ``(D - 30, D]``.
* ``prev_90d_monthly_avg`` is the count in ``(D - 120, D - 30]`` divided by 3.
* ``trend`` compares the two: ``'up'`` when ``last_30d`` exceeds the
  average by more than ``trend_tolerance`` (relative) *and* by at least one
  referral, ``'down'`` for the mirror case, otherwise ``'flat'``.

Whether a referrer has *lapsed* is not a column here: it depends on
``lapsed_days`` (:func:`prospects.terms.is_lapsed` over ``last_referral``).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from core.checks import finite_number, whole_number
from core.errors import InputError, Problem
from prospects.terms import in_window, is_referring, tier_of, tier_problems

__all__ = ["STATS_COLUMNS", "TREND_BASELINE_DAYS", "TREND_RECENT_DAYS", "referrer_stats"]

TREND_RECENT_DAYS = 30
TREND_BASELINE_DAYS = 90

STATS_COLUMNS: tuple[str, ...] = (
    "provider_id",
    "referrals_window",
    "referrals_total",
    "first_referral",
    "last_referral",
    "last_30d",
    "prev_90d_monthly_avg",
    "trend",
    "referring",
    "tier",
)


def _check_arguments(
    events: pd.DataFrame,
    window_days: object,
    tier_a_min: object,
    tier_b_min: object,
    trend_tolerance: object,
) -> None:
    problems = [
        Problem(f"events lack column {col!r}", field=col)
        for col in ("provider_id", "referral_date")
        if col not in events.columns
    ]
    whole_number(window_days, field="window_days", problems=problems, ge=1)
    tier_a = whole_number(tier_a_min, field="tier_a_min", problems=problems)
    tier_b = whole_number(tier_b_min, field="tier_b_min", problems=problems)
    if tier_a is not None and tier_b is not None:
        problems += tier_problems(tier_a_min=tier_a, tier_b_min=tier_b)
    finite_number(trend_tolerance, field="trend_tolerance", problems=problems, ge=0)
    if problems:
        raise InputError("cannot compute referrer stats", problems=problems)


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as int64; raises InputError naming unparseable rows."""
    parsed = pd.to_datetime(dates, errors="coerce")
    bad = parsed.isna() & dates.notna()
    if bad.any():
        problems = [
            Problem("not a date", line=None, field="referral_date", value=str(dates.loc[i]))
            for i in dates.index[bad.to_numpy()][:50]
        ]
        raise InputError(f"{int(bad.sum())} referral_date values are not dates", problems=problems)
    if parsed.isna().any():
        raise InputError(
            "referral_date is missing on linked events",
            problems=[Problem("empty referral_date", field="referral_date")],
        )
    return parsed.to_numpy(dtype="datetime64[D]").astype(np.int64)


def referrer_stats(
    events: pd.DataFrame,
    *,
    as_of: date,
    window_days: int,
    tier_a_min: int,
    tier_b_min: int,
    trend_tolerance: float = 0.25,
) -> pd.DataFrame:
    """Referral volume, tier and trend per linked referrer.

    Parameters
    ----------
    events
        Referral events with at least ``provider_id`` (the golden record the
        event was linked to; rows where it is missing are ignored) and
        ``referral_date`` (dates, datetimes or ISO strings).
    as_of
        The day the stats describe; see the module docstring for the
        half-open window semantics.
    window_days
        Length of the referring window in days (``Settings.referring_window_days``).
    tier_a_min, tier_b_min
        Referrals in the window needed for tier A and B; ``tier_b_min`` must
        be below ``tier_a_min``.
    trend_tolerance
        Relative change from the baseline monthly average that counts as a
        trend.

    Returns
    -------
    pandas.DataFrame
        One row per ``provider_id`` with at least one event on or before
        ``as_of``, sorted by ``provider_id``, columns :data:`STATS_COLUMNS`.
        ``first_referral`` and ``last_referral`` are :class:`datetime.date`.

    Raises
    ------
    InputError
        Missing columns, invalid thresholds or unparseable dates, all listed.
    """
    _check_arguments(events, window_days, tier_a_min, tier_b_min, trend_tolerance)
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    linked = events.loc[events["provider_id"].notna(), ["provider_id", "referral_date"]]
    days = _day_numbers(linked["referral_date"])
    today = np.datetime64(as_of, "D").astype(np.int64)
    age = today - days  # 0 = as_of, positive = in the past
    keep = age >= 0
    frame = pd.DataFrame(
        {
            "provider_id": linked["provider_id"].to_numpy()[keep],
            "day": days[keep],
            "in_window": in_window(age[keep], days=window_days),
            "recent": in_window(age[keep], days=TREND_RECENT_DAYS),
            "baseline": in_window(age[keep], days=TREND_RECENT_DAYS + TREND_BASELINE_DAYS)
            & ~in_window(age[keep], days=TREND_RECENT_DAYS),
        }
    )
    grouped = frame.groupby("provider_id", sort=True)
    out = pd.DataFrame(
        {
            "referrals_window": grouped["in_window"].sum().astype("int64"),
            "referrals_total": grouped["day"].size().astype("int64"),
            "first_day": grouped["day"].min(),
            "last_day": grouped["day"].max(),
            "last_30d": grouped["recent"].sum().astype("int64"),
            "baseline": grouped["baseline"].sum().astype("int64"),
        }
    )
    out.index.name = "provider_id"
    out = out.reset_index()
    avg = out["baseline"].to_numpy() / (TREND_BASELINE_DAYS / TREND_RECENT_DAYS)
    recent = out["last_30d"].to_numpy().astype(float)
    up = (recent > avg * (1 + trend_tolerance)) & (recent - avg >= 1)
    down = (recent < avg * (1 - trend_tolerance)) & (avg - recent >= 1)
    last_day = out["last_day"].to_numpy().astype("datetime64[D]")
    epoch = date(1970, 1, 1).toordinal()
    return pd.DataFrame(
        {
            "provider_id": out["provider_id"],
            "referrals_window": out["referrals_window"],
            "referrals_total": out["referrals_total"],
            "first_referral": [date.fromordinal(epoch + int(d)) for d in out["first_day"]],
            "last_referral": [date.fromordinal(epoch + int(d)) for d in out["last_day"]],
            "last_30d": out["last_30d"],
            "prev_90d_monthly_avg": avg,
            "trend": np.where(up, "up", np.where(down, "down", "flat")),
            "referring": is_referring(last_day, as_of=as_of, window_days=window_days),
            "tier": pd.Series(
                tier_of(out["referrals_window"], tier_a_min=tier_a_min, tier_b_min=tier_b_min),
                index=out.index,
                dtype=object,
            ),
        },
        columns=list(STATS_COLUMNS),
    )
