"""Backtest of a scoring profile on a clinic's own referral history.

Hide the last N months of referral history, score the providers who were
prospects at the cut-off (not active referrers then: never referred, lapsed,
or no referral left in the referring window; :mod:`prospects.terms`, as the
scoring stage decides) with what was known then, and measure how well the
ranking found those who started (or resumed) referring in the hidden period:

* ``precision@k``: share of the top k that started referring;
* ``AUC``: probability that a provider who started referring is ranked above
  one who did not (ties counted half).

Both are defined once, in :mod:`prospects.evaluation` (ties in the scores
broken by row position for precision@k).

Two baselines are reported on the same population: a random order (its
expected precision@k is the base rate and its expected AUC 0.5; one seeded
draw is shown too) and a distance-only order (closest first, drive minutes
or else straight-line distance, the same proximity the profile sees).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd

from core.checks import whole_number
from core.errors import InputError, Problem
from geo.routing import Fallback
from prospects.evaluation import auc, precision_at_k
from prospects.profiles import ScoringProfile
from prospects.scoring import INPUT_COLUMNS, score_prospects
from prospects.terms import colleague_referring, is_active_referrer, is_referring, last_referrals

__all__ = [
    "BacktestResult",
    "OrderMetrics",
    "backtest",
    "cutoff_date",
    "prospects_at",
]


@dataclass(frozen=True)
class OrderMetrics:
    """Quality of one ordering of the prospects."""

    order: str
    precision_at_k: float
    auc: float | None
    hits_in_top_k: int


@dataclass(frozen=True)
class BacktestResult:
    """What the backtest found, for one profile and cut-off."""

    profile: str
    cutoff: date
    horizon_end: date
    k: int
    prospects: int
    started_referring: int
    base_rate: float
    orders: list[OrderMetrics]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["cutoff"] = self.cutoff.isoformat()
        out["horizon_end"] = self.horizon_end.isoformat()
        return out


def prospects_at(
    events: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    organizations: pd.DataFrame | None = None,
    cutoff: date,
    window_days: int,
    lapsed_days: int,
) -> pd.DataFrame:
    """The candidates who were prospects at ``cutoff``, ``org_referring`` as known then.

    The rules of the scoring stage on the history up to ``cutoff``: active
    referrers are left out, and a prospect is warm when another member of its
    organisation was referring (:mod:`prospects.terms`).

    Raises
    ------
    InputError
        Every candidate was an active referrer.
    """
    last = last_referrals(events, as_of=cutoff)
    active = is_active_referrer(
        candidates["provider_id"].map(last),
        as_of=cutoff,
        window_days=window_days,
        lapsed_days=lapsed_days,
    )
    pool = candidates[~active].copy()
    if pool.empty:
        raise InputError(
            "no prospects at the cut-off",
            problems=[Problem("every candidate was an active referrer", field="candidates")],
        )
    members = candidates[["provider_id", "organization_id"]]
    if organizations is not None:
        members = pd.concat([members, organizations[["provider_id", "organization_id"]]])
    referring = last.index[is_referring(last, as_of=cutoff, window_days=window_days)]
    members = members[members["provider_id"].isin(referring)]
    pool["org_referring"] = colleague_referring(pool, members)
    return pool


def cutoff_date(as_of: date, *, hide_months: int) -> date:
    """``as_of`` moved back ``hide_months`` calendar months (clamped to the month's end)."""
    problems: list[Problem] = []
    if whole_number(hide_months, field="hide_months", problems=problems, ge=1) is None:
        raise InputError("bad hide_months", problems=problems)
    return (pd.Timestamp(as_of) - pd.DateOffset(months=hide_months)).date()


def _measured(order: str, labels: np.ndarray, ranking: np.ndarray, *, k: int) -> OrderMetrics:
    """The backtest's row for one ordering (:mod:`prospects.evaluation`'s metrics, rounded)."""
    precision = precision_at_k(labels, ranking, k=k)
    area = auc(labels, ranking)
    return OrderMetrics(
        order,
        round(precision, 4),
        None if area is None else round(area, 4),
        round(precision * min(k, len(labels))),  # hits / min(k, n), so exact
    )


def backtest(
    events: pd.DataFrame,
    candidates: pd.DataFrame,
    profile: ScoringProfile,
    *,
    as_of: date,
    hide_months: int,
    window_days: int,
    lapsed_days: int,
    organizations: pd.DataFrame | None = None,
    k: int = 50,
    seed: int = 0,
    fallback: Fallback = Fallback(),
) -> BacktestResult:
    """Score as of ``as_of - hide_months`` and check the ranking against what happened next.

    Parameters
    ----------
    events
        Referral events with ``provider_id`` and ``referral_date`` (all of history).
    candidates
        Providers that could be prospects, with the scoring inputs
        (:data:`prospects.scoring.INPUT_COLUMNS` except ``org_referring``,
        which is recomputed as of the cut-off) and ``organization_id``.
    profile
        The profile under test.
    as_of
        End of the known history; the hidden period is ``(cutoff, as_of]``.
    hide_months
        Months hidden.
    window_days, lapsed_days
        The referring window and the lapse: a provider who was an active
        referrer at the cut-off (:func:`prospects.terms.is_active_referrer`)
        is not a prospect.
    organizations
        ``provider_id`` and ``organization_id`` of providers outside
        ``candidates`` (e.g. every referrer), so that a referring colleague
        anywhere warms a prospect, as in scoring; None: the candidates only.
    k
        Size of the top list for precision@k.
    seed
        Seed of the random baseline draw.
    fallback
        Straight-line estimate where a candidate has no drive minutes (the settings').

    Raises
    ------
    InputError
        Missing columns, a bad ``k`` or ``hide_months``, or no prospect at the cut-off.
    """
    problems: list[Problem] = []
    need = [c for c in INPUT_COLUMNS if c != "org_referring"] + ["organization_id"]
    for col in need:
        if col not in candidates.columns:
            problems.append(Problem("required column is missing", field=col))
    for col in ("provider_id", "referral_date"):
        if col not in events.columns:
            problems.append(Problem("events lack this column", field=col))
    whole_number(k, field="k", problems=problems, ge=1)
    if problems:
        raise InputError("cannot run the backtest", problems=problems)
    cutoff = cutoff_date(as_of, hide_months=hide_months)
    ev = events.loc[events["provider_id"].notna(), ["provider_id", "referral_date"]].copy()
    when = pd.to_datetime(ev["referral_date"])
    hidden = set(
        ev.loc[(when > pd.Timestamp(cutoff)) & (when <= pd.Timestamp(as_of)), "provider_id"]
    )
    pool = prospects_at(
        ev,
        candidates,
        organizations=organizations,
        cutoff=cutoff,
        window_days=window_days,
        lapsed_days=lapsed_days,
    )
    if "days_since_contact" in pool.columns:
        pool = pool.drop(columns="days_since_contact")  # no contact log as of the cut-off
    scored = score_prospects(pool, profile, fallback=fallback, explain=False)
    labels = scored["provider_id"].isin(hidden).to_numpy()

    minutes = scored["drive_minutes"].to_numpy(float)
    minutes = np.where(
        np.isnan(minutes), fallback.minutes(scored["distance_km"].to_numpy(float)), minutes
    )
    closeness = -np.where(np.isnan(minutes), np.inf, minutes)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(scored)).astype(float)

    orders = [
        _measured(f"profile {profile.key}", labels, scored["score"].to_numpy(float), k=k),
        _measured("distance only", labels, closeness, k=k),  # unlocated (-inf) last
        _measured(f"random (seed {seed})", labels, shuffled, k=k),
    ]
    base = float(labels.mean())
    orders.append(
        OrderMetrics(
            "random (expected)",
            round(base, 4),
            0.5 if 0 < labels.sum() < len(labels) else None,
            round(base * min(k, len(labels))),
        )
    )
    horizon_end = as_of
    return BacktestResult(
        profile=profile.key,
        cutoff=cutoff,
        horizon_end=horizon_end,
        k=k,
        prospects=len(scored),
        started_referring=int(labels.sum()),
        base_rate=round(base, 4),
        orders=orders,
    )
