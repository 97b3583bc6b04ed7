"""Rolling-origin backtest of the learned score against the orders a clinic could use instead.

At each origin (a past cut-off whose horizon is fully known), the model is
fitted on what a fit on that day could have seen: the provider-months whose
next month (the hazard's label) was over by the origin, with the horizon's
label (its recalibration) only where the whole horizon was over too. Then
every prospect at the origin is ranked by it and by the alternatives:

``model``
    the fitted model's probability (blended with the profile as served);
``current``
    the model in service, when one is promoted (only at origins after its
    own ``as_of``, so it is judged out of sample too);
``profile``
    the hand-set profile's 0-100 score, with the contact log as live;
``distance only``
    fewer drive minutes first;
``specialty prior``
    the profile's specialty fit alone.

Every ranked prospect counts (the universe of the scoring stage, not a
catchment), labels come from the live definitions (:mod:`prospects.terms`
and the referral links made at load, free text included). The pooled
predictions are judged by :mod:`prospects.ranking_metrics`,
:mod:`prospects.calibration` and :mod:`prospects.bootstrap`, resampling
providers (a provider appears at several origins).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import pandas as pd

from core.errors import InputError, Problem, ScoringError
from core.progress import ProgressSink, null_progress
from geo.fallback import Fallback
from prospects.model import FittedModel, learned_scores
from prospects.profiles import ScoringProfile
from prospects.scoring import score_prospects

__all__ = ["ORDERS", "origins_for", "profile_scores", "rolling_predictions"]

ORDERS: tuple[str, ...] = ("model", "current", "profile", "distance only", "specialty prior")


def _months_after(day: date, months: int) -> date:
    return (pd.Timestamp(day) + pd.DateOffset(months=months)).date()


def origins_for(
    cutoffs: Sequence[date], *, as_of: date, horizon_months: int, count: int, step_months: int = 3
) -> list[date]:
    """The latest ``count`` cut-offs, ``step_months`` apart, whose horizon ends by ``as_of``."""
    known = sorted(c for c in cutoffs if _months_after(c, horizon_months) <= as_of)
    picked: list[date] = []
    for c in reversed(known):
        if len(picked) == count:
            break
        if not picked or _months_after(c, step_months) <= picked[-1]:
            picked.append(c)
    return sorted(picked)


def profile_scores(
    frame: pd.DataFrame, profile: ScoringProfile, *, fallback: Fallback
) -> np.ndarray:
    """The hand-set profile's score of feature rows (contacts and colleagues as at the row)."""
    candidates = pd.DataFrame(
        {
            "provider_id": frame["provider_id"].to_numpy(),
            "taxonomy_code": frame["taxonomy_code"].astype(object).to_numpy(),
            "classification": frame["classification"].astype(object).to_numpy(),
            "entity_type": np.where(frame["is_organisation"].astype(bool), "2", "1"),
            "drive_minutes": frame["drive_minutes"].to_numpy(float),
            "distance_km": frame["distance_km"].to_numpy(float),
            "practice_size": frame["practice_size"].to_numpy(float),
            "org_referring": (frame["colleagues_12m"].to_numpy() > 0),
            "days_since_contact": frame["days_since_contact"].to_numpy(float),
            "proximity_estimated": frame["drive_estimated"].astype(bool).to_numpy(),
        }
    )
    if candidates.empty:
        return np.empty(0)
    return score_prospects(candidates, profile, fallback=fallback, explain=False)["score"].to_numpy(
        float
    )


def rolling_predictions(
    frame: pd.DataFrame,
    *,
    origins: Sequence[date],
    horizon_months: int,
    fit: Callable[[pd.DataFrame, date], FittedModel],
    weight: Callable[[FittedModel], float],
    profile: ScoringProfile,
    prior: Callable[[np.ndarray], np.ndarray],
    fallback: Fallback,
    current: FittedModel | None = None,
    progress: ProgressSink = null_progress,
) -> tuple[pd.DataFrame, list[str]]:
    """Every prospect at every origin with its label and the score of each order.

    Parameters
    ----------
    frame
        Labelled provider-months (:func:`prospects.features.provider_months`
        with ``history_end`` the end of the data).
    origins
        The cut-offs to test at (:func:`origins_for`).
    horizon_months
        The label's horizon.
    fit
        Fits a model on training rows as of an origin (the product's fit, with
        its settings).
    weight
        The served blend weight of a fitted model.
    profile, prior
        The hand-set profile and its log-odds map (:func:`prospects.model.prior_logit`).
    fallback
        The router's straight-line estimate, for the profile.
    current
        The promoted model, judged at origins after its ``as_of``.
    progress
        Told ``("backtest", origins done, origins)`` as each origin is fitted.

    Returns
    -------
    (pandas.DataFrame, list of str)
        ``provider_id``, ``cutoff``, ``started`` and one column per order of
        :data:`ORDERS` that could be computed; and one note per origin skipped
        (too little history before it).
    """
    if not origins:
        raise InputError(
            "no origin to backtest at",
            problems=[Problem("the history is shorter than the horizon", field="as_of")],
        )
    parts, notes = [], []
    # the hazard's label looks one month ahead: known at the origin when that month is over;
    # the horizon's label (the fit's recalibration) only when the whole horizon is
    ends = frame["cutoff"].map(lambda c: _months_after(c, 1)).to_numpy()
    horizon_ends = frame["cutoff"].map(lambda c: _months_after(c, horizon_months)).to_numpy()
    for n, origin in enumerate(origins):
        progress("backtest", n, len(origins))
        train = frame[ends <= origin].copy()
        train.loc[horizon_ends[ends <= origin] > origin, "started"] = np.nan
        test = frame[(frame["cutoff"] == origin).to_numpy() & frame["started"].notna().to_numpy()]
        try:
            model = fit(train, origin)
        except ScoringError as exc:
            notes.append(f"{origin}: skipped ({exc.problems[0].message if exc.problems else exc})")
            continue
        if test.empty:
            continue
        parts.append(_orders_at(test, model, weight, profile, prior, fallback, current, origin))
    progress("backtest", len(origins), len(origins))
    if not parts:
        raise ScoringError(
            "no origin could be backtested",
            problems=[Problem(note, field="history") for note in notes],
        )
    return pd.concat(parts, ignore_index=True), notes


def _orders_at(
    test: pd.DataFrame,
    model: FittedModel,
    weight: Callable[[FittedModel], float],
    profile: ScoringProfile,
    prior: Callable[[np.ndarray], np.ndarray],
    fallback: Fallback,
    current: FittedModel | None,
    origin: date,
) -> pd.DataFrame:
    points = profile_scores(test, profile, fallback=fallback)
    prior_l = prior(points)
    served = learned_scores(model, test, prior=prior_l, weight=weight(model), explain=False)
    minutes = test["drive_minutes"].to_numpy(float)
    out = pd.DataFrame(
        {
            "provider_id": test["provider_id"].to_numpy(),
            "cutoff": origin,
            "started": test["started"].to_numpy(float).astype(bool),
            "model": served["probability"].to_numpy(),
            "profile": points,
            "distance only": -np.where(np.isnan(minutes), np.inf, minutes),
            "specialty prior": test["specialty_fit"].to_numpy(float),
        }
    )
    if current is not None and current.as_of <= origin:
        kept = learned_scores(current, test, prior=prior_l, weight=weight(current), explain=False)
        out["current"] = kept["probability"].to_numpy()
    return out
