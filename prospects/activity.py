"""Referral activity per referrer: counts by week and month, and the at-risk rules.

Pure functions over DataFrames (the service layer reads and stores).
Windows are those of :mod:`prospects.terms`: with ``as_of`` = day D, a rule
over N days counts events with ``D - N < E <= D``; events after D are
ignored. Whether a referrer has lapsed is :func:`prospects.terms.is_lapsed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd

from core.checks import whole_number
from core.errors import InputError, Problem
from core.settings import AtRiskRule
from prospects.terms import in_window, window_start

__all__ = ["ALERT_COLUMNS", "at_risk_alerts", "referral_counts"]

ALERT_COLUMNS: tuple[str, ...] = ("provider_id", "rule", "tier", "message", "history")

_FREQ = {"week": "W-MON", "month": "MS"}


def _dated(events: pd.DataFrame, as_of: date) -> pd.DataFrame:
    missing = [c for c in ("provider_id", "referral_date") if c not in events.columns]
    if missing:
        raise InputError(
            "events lack columns",
            problems=[Problem("required column is missing", field=c) for c in missing],
        )
    frame = events.loc[events["provider_id"].notna(), ["provider_id", "referral_date"]].copy()
    frame["referral_date"] = pd.to_datetime(frame["referral_date"]).dt.normalize()
    return frame[frame["referral_date"] <= pd.Timestamp(as_of)]


def referral_counts(
    events: pd.DataFrame, *, as_of: date, period: str = "month", periods: int = 12
) -> pd.DataFrame:
    """Referrals per referrer and calendar week (Monday start) or month, zeros included.

    Parameters
    ----------
    events
        ``provider_id`` and ``referral_date`` per event.
    as_of
        Last day counted; the last period is the one containing it (possibly partial).
    period
        ``"week"`` or ``"month"``.
    periods
        How many periods, ending with the one containing ``as_of``.

    Returns
    -------
    pandas.DataFrame
        Columns ``provider_id``, ``period_start`` (date), ``referrals`` (int),
        one row per referrer with an event in the range and per period.
    """
    if period not in _FREQ:
        raise InputError(
            "unknown period",
            problems=[Problem("use 'week' or 'month'", field="period", value=str(period))],
        )
    problems: list[Problem] = []
    if whole_number(periods, field="periods", problems=problems, ge=1) is None:
        raise InputError("bad periods", problems=problems)
    end = pd.Timestamp(as_of)
    last = end.to_period("W-SUN" if period == "week" else "M").start_time
    starts = pd.date_range(end=last, periods=periods, freq=_FREQ[period])
    frame = _dated(events, as_of)
    frame = frame[frame["referral_date"] >= starts[0]]
    key = frame["referral_date"].dt.to_period("W-SUN" if period == "week" else "M").dt.start_time
    counts = frame.groupby([frame["provider_id"], key]).size()
    providers = sorted(frame["provider_id"].unique().tolist())
    full = pd.MultiIndex.from_product([providers, starts], names=["provider_id", "period_start"])
    counts.index.names = ["provider_id", "period_start"]
    out = counts.reindex(full, fill_value=0).rename("referrals").reset_index()
    out["period_start"] = out["period_start"].dt.date
    out["referrals"] = out["referrals"].astype("int64")
    return out


def at_risk_alerts(
    stats: pd.DataFrame, events: pd.DataFrame, rules: Sequence[AtRiskRule], *, as_of: date
) -> pd.DataFrame:
    """Referrers that a rule flags as at risk on ``as_of``, with the history that triggered it.

    Parameters
    ----------
    stats
        Output of :func:`prospects.tiers.referrer_stats` for the same ``as_of``
        (``provider_id``, ``referring``, ``tier``, ``referrals_window``, ``last_referral``,
        ``last_30d``, ``prev_90d_monthly_avg``, ``trend``); only referring referrers are watched.
    events
        ``provider_id`` and ``referral_date`` per event.
    rules
        The rules; a referrer matching several rules gets one alert per rule.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ALERT_COLUMNS`; ``history`` is a dict: the rule's window
        and its count, the tier's window count, last referral, trend figures
        and the monthly counts of the last 6 months.
    """
    frame = _dated(events, as_of)
    days = (pd.Timestamp(as_of) - frame["referral_date"]).dt.days.to_numpy()
    monthly = referral_counts(events, as_of=as_of, period="month", periods=6)
    by_provider = {
        pid: [
            {"month": d.isoformat(), "referrals": int(n)}
            for d, n in zip(g["period_start"], g["referrals"], strict=True)
        ]
        for pid, g in monthly.groupby("provider_id")
    }
    records: list[dict] = []
    stats = stats[stats["referring"].astype(bool)] if len(stats) else stats  # rules watch referrers
    for rule in rules:
        inside = in_window(days, days=rule.days)
        counts = pd.Series(frame["provider_id"].to_numpy()[inside]).value_counts()
        chosen = stats if rule.tier is None else stats[stats["tier"] == rule.tier]
        n = counts.reindex(chosen["provider_id"].to_numpy(), fill_value=0).to_numpy()
        hit = chosen[n <= rule.max_referrals]
        n_hit = n[n <= rule.max_referrals]
        since = window_start(as_of=as_of, days=rule.days)
        for row, count in zip(hit.itertuples(index=False), n_hit.tolist(), strict=True):
            last = row.last_referral
            records.append(
                {
                    "provider_id": int(row.provider_id),
                    "rule": rule.name,
                    "tier": row.tier,
                    "message": (
                        f"tier {row.tier} referrer with {count} referral{'s' if count != 1 else ''} "
                        f"in the last {rule.days} days (rule allows at most {rule.max_referrals}); "
                        f"last referral {last.isoformat() if last is not None else 'never'}"
                    ),
                    "history": {
                        "window": [since.isoformat(), as_of.isoformat()],
                        "referrals_in_rule_window": count,
                        "referrals_in_tier_window": int(row.referrals_window),
                        "last_referral": last.isoformat() if last is not None else None,
                        "last_30d": int(row.last_30d),
                        "prev_90d_monthly_avg": round(float(row.prev_90d_monthly_avg), 2),
                        "trend": row.trend,
                        "monthly": by_provider.get(row.provider_id, []),
                    },
                }
            )
    return pd.DataFrame.from_records(records, columns=list(ALERT_COLUMNS))
