"""The business terms of referral analytics, each defined once.

Every place that decides whether a provider is *referring*, *lapsed*, an
*active referrer* (not a prospect) or of *tier* A, B or C calls these
functions: the tiers stage (:mod:`prospects.tiers`), the at-risk rules
(:mod:`prospects.activity`), the scoring stage and the activity endpoint
(:mod:`service.prospecting.scoring`, :mod:`service.prospecting.referrals`) and the learned
score's provider-months and backtest (:mod:`prospects.features`, :mod:`prospects.rolling`).
SQL that needs a term's bound takes it from :func:`window_start` rather than writing its own
date arithmetic.

Windows
-------
With ``as_of`` = day D, a window of N days holds the days E with
``D - N < E <= D``: D itself is inside, the day N days before D is outside.
Its first day is :func:`window_start` (``D - N + 1``). Days after D are not
known yet and fall in no window. Ages are whole days before D (0 = D).

Terms
-----
referring
    At least one referral in the referring window ending at ``as_of``
    (``PRM_REFERRING_WINDOW_DAYS``, 365): the last referral on or before
    ``as_of`` lies in that window.
lapsed
    Referred before (a referral on or before ``as_of``) but none in the last
    ``PRM_LAPSED_DAYS`` (90): the last referral is that many days or more
    before ``as_of``. Someone who never referred is not lapsed.
active referrer
    Referring and not lapsed. Active referrers are the only providers kept
    out of the prospects: a lapsed referrer returns to prospecting (its
    history stays visible), as does a referrer whose referrals all left the
    referring window. Settings keep ``lapsed_days <= referring_window_days``,
    so an active referrer is one with a referral in the last ``lapsed_days``.
tier
    From the count in the referring window: ``'A'`` at ``tier_a_min`` or
    more, ``'B'`` at ``tier_b_min`` or more, ``'C'`` at one or more, ``None``
    when not referring (whether lapsed or not).
colleague referring
    Another provider of the same organisation is referring (the warm
    introduction of the scoring profiles' ``org_referring``); the provider's
    own referrals do not count.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from core.checks import whole_number
from core.errors import InputError, Problem

__all__ = [
    "colleague_referring",
    "days_before",
    "in_window",
    "is_active_referrer",
    "is_lapsed",
    "is_referring",
    "last_referrals",
    "tier_of",
    "tier_problems",
    "window_start",
]

Dates = pd.Series | np.ndarray | Iterable[date | datetime | str | None]


def _positive(name: str, value: object) -> int:
    problems: list[Problem] = []
    days = whole_number(value, field=name, problems=problems, ge=1)
    if days is None:
        raise InputError(f"bad {name}", problems=problems)
    return days


def _day(as_of: date) -> date:
    return as_of.date() if isinstance(as_of, datetime) else as_of


def window_start(*, as_of: date, days: int) -> date:
    """First day of the window of ``days`` days ending at ``as_of`` (``as_of - days + 1``).

    A date ``d`` is in the window when ``window_start(...) <= d <= as_of``; SQL
    filters on a window use this bound.
    """
    return _day(as_of) - timedelta(days=_positive("days", days) - 1)


def days_before(dates: Dates, *, as_of: date) -> np.ndarray:
    """Whole days from each date to ``as_of``: 0 on ``as_of``, negative after it, NaN if missing.

    Dates may be :class:`datetime.date`, datetimes (their day counts), ISO
    strings or ``datetime64`` values.
    """
    if not isinstance(dates, (pd.Series, np.ndarray)):
        dates = list(dates)
    parsed = pd.to_datetime(pd.Series(dates, dtype=object if isinstance(dates, list) else None))
    return (pd.Timestamp(_day(as_of)) - parsed.dt.normalize()).dt.days.to_numpy(dtype=float)


def in_window(age: np.ndarray | pd.Series, *, days: int) -> np.ndarray:
    """Mask of ages (days before ``as_of``, see :func:`days_before`) inside a window of ``days``."""
    age = np.asarray(age, dtype=float)
    return (age >= 0) & (age < _positive("days", days))


def is_referring(last_referral: Dates, *, as_of: date, window_days: int) -> np.ndarray:
    """Mask: the last referral on or before ``as_of`` lies in the referring window.

    ``last_referral`` must ignore referrals after ``as_of``
    (:func:`last_referrals`, or ``referrer_stats``' column); missing = never referred.
    """
    return in_window(days_before(last_referral, as_of=as_of), days=window_days)


def is_lapsed(last_referral: Dates, *, as_of: date, lapsed_days: int) -> np.ndarray:
    """Mask: referred before, but the last referral is ``lapsed_days`` or more before ``as_of``."""
    age = days_before(last_referral, as_of=as_of)
    return age >= _positive("lapsed_days", lapsed_days)  # NaN (never referred) compares False


def is_active_referrer(
    last_referral: Dates, *, as_of: date, window_days: int, lapsed_days: int
) -> np.ndarray:
    """Mask: referring and not lapsed, i.e. not a prospect."""
    return is_referring(last_referral, as_of=as_of, window_days=window_days) & ~is_lapsed(
        last_referral, as_of=as_of, lapsed_days=lapsed_days
    )


def tier_problems(*, tier_a_min: int, tier_b_min: int) -> list[Problem]:
    """What is wrong with the tier thresholds (empty when they are usable)."""
    problems = []
    if tier_b_min <= 0:
        problems.append(Problem("must be positive", field="tier_b_min", value=str(tier_b_min)))
    if tier_b_min >= tier_a_min:
        problems.append(
            Problem(
                f"must be below tier_a_min ({tier_a_min})",
                field="tier_b_min",
                value=str(tier_b_min),
            )
        )
    return problems


def tier_of(
    referrals_in_window: np.ndarray | pd.Series, *, tier_a_min: int, tier_b_min: int
) -> np.ndarray:
    """Tier per count of referrals in the referring window: ``'A'``, ``'B'``, ``'C'`` or None.

    Raises
    ------
    InputError
        A threshold is not a positive int, or ``tier_b_min >= tier_a_min``.
    """
    a, b = _positive("tier_a_min", tier_a_min), _positive("tier_b_min", tier_b_min)
    if problems := tier_problems(tier_a_min=a, tier_b_min=b):
        raise InputError("bad tier thresholds", problems=problems)
    n = np.asarray(referrals_in_window)
    tier = np.select([n >= a, n >= b, n >= 1], ["A", "B", "C"], default="")
    out = np.empty(len(tier), dtype=object)
    out[:] = [t or None for t in tier.tolist()]
    return out


def last_referrals(events: pd.DataFrame, *, as_of: date) -> pd.Series:
    """Last referral day (a :class:`datetime.date`) per ``provider_id``, on or before ``as_of``.

    ``events`` has ``provider_id`` (rows without one are ignored) and ``referral_date``.
    """
    linked = events.loc[events["provider_id"].notna(), ["provider_id", "referral_date"]]
    when = pd.to_datetime(linked["referral_date"]).dt.normalize()
    known = when <= pd.Timestamp(_day(as_of))
    last = when[known].groupby(linked.loc[known, "provider_id"].to_numpy()).max()
    return last.dt.date.rename("last_referral").rename_axis("provider_id")


def colleague_referring(providers: pd.DataFrame, referrers: pd.DataFrame) -> np.ndarray:
    """Mask: another provider of the same organisation is referring.

    Parameters
    ----------
    providers
        ``provider_id`` and ``organization_id`` (missing = no organisation: False).
    referrers
        ``provider_id`` and ``organization_id`` of the referring providers
        (those :func:`is_referring` holds for), wherever they are.
    """
    known = referrers.loc[referrers["organization_id"].notna(), ["provider_id", "organization_id"]]
    known = known.drop_duplicates("provider_id")
    members = known.groupby("organization_id").size()
    org = providers["organization_id"]
    n = org.map(members).fillna(0).to_numpy(dtype=np.int64)
    own_org = providers["provider_id"].map(known.set_index("provider_id")["organization_id"])
    own = (own_org == org).to_numpy()
    return org.notna().to_numpy() & (n - own > 0)
