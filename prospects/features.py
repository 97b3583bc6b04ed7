"""Point-in-time features of prospects, one row per provider and cut-off, with no look-ahead.

The learned score (:mod:`prospects.model`) is fitted on the clinic's own
history: at each monthly cut-off, every provider who was a prospect then (not
an active referrer, :mod:`prospects.terms`) is one row, described only by what
was known on that day, and labelled by whether it made a referral within the
horizon after it. The scoring stage builds the same row at today's date.

Cut-off rule: the cut-off is a day D ("as of D", as in :mod:`prospects.terms`).
Events on or before D are known; a window of N days holds the days
``D - N < day <= D``. The label looks at the days ``D < day <= D + horizon``
and is missing (NaN) when that period is not fully inside the history.

The features, one column each, are documented in one table: docs/scoring.md
("Features"); :data:`FEATURE_COLUMNS` lists them in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from core.errors import InputError, Problem
from prospects.terms import is_active_referrer, last_referrals

__all__ = [
    "CONTACT_KINDS",
    "FEATURE_COLUMNS",
    "PROVIDER_COLUMNS",
    "monthly_cutoffs",
    "provider_months",
]

#: Contact kinds counted separately (the interactions log's ``kind``); others are ignored.
CONTACT_KINDS: tuple[str, ...] = ("visit", "call", "email")
_CONTACT_WINDOWS = (30, 90)
_COLLEAGUE_RECENT_DAYS = 91
_DAYS_PER_MONTH = 365.25 / 12

#: Columns of the ``providers`` input (``enrolment_date``, ``competitor_minutes`` and
#: ``competitor_estimated`` optional).
PROVIDER_COLUMNS: tuple[str, ...] = (
    "provider_id",
    "classification",
    "specialty_fit",
    "organization_id",
    "practice_size",
    "drive_minutes",
    "drive_estimated",
    "is_organisation",
)

FEATURE_COLUMNS: tuple[str, ...] = (
    "classification",
    "specialty_fit",
    "drive_minutes",
    "drive_estimated",
    "practice_size",
    "colleagues_3m",
    "colleagues_12m",
    "referred_before",
    "months_since_referral",
    "past_referrals",
    *(f"{kind}s_{days}d" for kind in CONTACT_KINDS for days in _CONTACT_WINDOWS),
    "enrolment_years",
    "competitor_minutes",
    "competitor_estimated",
    "is_organisation",
)


def monthly_cutoffs(*, first: date, last: date) -> list[date]:
    """Month-end days from the end of ``first``'s month to ``last`` (inclusive when a month end).

    Raises
    ------
    InputError
        ``last`` is before ``first``.
    """
    if last < first:
        raise InputError(
            "no cut-off between the dates",
            problems=[Problem(f"{last} is before {first}", field="as_of", value=str(last))],
        )
    ends = pd.date_range(pd.Timestamp(first), pd.Timestamp(last), freq="ME")
    return [d.date() for d in ends]


def _check(frame: pd.DataFrame, columns: Sequence[str], name: str, problems: list[Problem]) -> None:
    for column in columns:
        if column not in frame.columns:
            problems.append(Problem(f"{name} lack this column", field=column))


def _days(values: pd.Series) -> np.ndarray:
    """Days since the epoch of dates or datetimes (tz-aware ones in UTC), as int64."""
    when = pd.to_datetime(values, utc=True).dt.tz_localize(None).dt.normalize()
    return (when.to_numpy("datetime64[D]")).astype(np.int64)


def _day(value: date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def _window_counts(
    ids: np.ndarray, days: np.ndarray, *, cutoff: int, length: int, index: pd.Index
) -> np.ndarray:
    """Events per id of ``index`` in the ``length`` days ending at ``cutoff`` (inclusive)."""
    inside = (days <= cutoff) & (days > cutoff - length)
    counts = pd.Series(ids[inside]).value_counts()
    return counts.reindex(index, fill_value=0).to_numpy(np.int64)


def _days_since(
    contacts: dict[str, tuple[np.ndarray, np.ndarray]], *, cutoff: int, index: pd.Index
) -> np.ndarray:
    """Days from the last contact of any kind on or before the cut-off (NaN: never)."""
    ids = np.concatenate([c[0] for c in contacts.values()])
    days = np.concatenate([c[1] for c in contacts.values()])
    known = days <= cutoff
    last = pd.Series(days[known]).groupby(ids[known]).max()
    return (cutoff - last.reindex(index).to_numpy(float)).astype(float)


def _colleagues(
    providers: pd.DataFrame, ref_ids: np.ndarray, ref_days: np.ndarray, *, cutoff: int, length: int
) -> np.ndarray:
    """Other members of each provider's organisation with a referral in the window."""
    inside = (ref_days <= cutoff) & (ref_days > cutoff - length)
    referring = np.unique(ref_ids[inside])
    org = providers["organization_id"]
    is_ref = providers["provider_id"].isin(referring).to_numpy()
    per_org = providers.loc[is_ref & org.notna().to_numpy(), "organization_id"].value_counts()
    n = org.map(per_org).fillna(0).to_numpy(np.int64)
    return np.where(org.notna().to_numpy(), n - is_ref, 0)


def _at_cutoff(
    providers: pd.DataFrame,
    referrals: pd.DataFrame,
    contacts: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    cutoff: date,
    window_days: int,
    lapsed_days: int,
    label_ends: dict[str, date | None],
) -> pd.DataFrame:
    """The rows of one cut-off: the prospects then, their features and labels (label -> the
    last day it looks at; None: not known)."""
    day = _day(cutoff)
    ref_ids = referrals["provider_id"].to_numpy()
    ref_days = referrals["_day"].to_numpy()
    last = providers["provider_id"].map(last_referrals(referrals, as_of=cutoff))
    active = is_active_referrer(
        last, as_of=cutoff, window_days=window_days, lapsed_days=lapsed_days
    )
    enrolled = providers["_enrolled"].isna().to_numpy() | (providers["_enrolled"] <= day).to_numpy()
    keep = ~active & enrolled
    rows = providers[keep]
    index = pd.Index(rows["provider_id"])
    out = rows[[c for c in rows.columns if not c.startswith("_")]].copy()
    out.insert(1, "cutoff", cutoff)
    for name, length in (
        ("colleagues_3m", _COLLEAGUE_RECENT_DAYS),
        ("colleagues_12m", window_days),
    ):
        out[name] = _colleagues(providers, ref_ids, ref_days, cutoff=day, length=length)[keep]
    last_day = last[keep]
    out["referred_before"] = last_day.notna().to_numpy()
    age = (day - pd.to_datetime(last_day).to_numpy("datetime64[D]").astype(np.int64)).astype(float)
    out["months_since_referral"] = np.where(last_day.notna(), age / _DAYS_PER_MONTH, np.nan)
    out["past_referrals"] = _window_counts(
        ref_ids, ref_days, cutoff=day, length=window_days, index=index
    )
    for kind in CONTACT_KINDS:
        ids, days = contacts[kind]
        for length in _CONTACT_WINDOWS:
            out[f"{kind}s_{length}d"] = _window_counts(
                ids, days, cutoff=day, length=length, index=index
            )
    out["days_since_contact"] = _days_since(contacts, cutoff=day, index=index)
    out["enrolment_years"] = (day - rows["_enrolled"].to_numpy(float)) / 365.25
    # a static attribute, as drive_minutes: the competitor list as loaded today
    out["competitor_minutes"] = rows["competitor_minutes"].to_numpy(float)
    out["competitor_estimated"] = rows["competitor_estimated"].to_numpy(bool)
    for label, end in label_ends.items():
        if end is None:
            out[label] = np.nan
        else:
            ahead = (ref_days > day) & (ref_days <= _day(end))
            out[label] = index.isin(np.unique(ref_ids[ahead])).astype(float)
    return out.reset_index(drop=True)


def _prepared(
    providers: pd.DataFrame, referrals: pd.DataFrame, interactions: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
    problems: list[Problem] = []
    _check(providers, PROVIDER_COLUMNS, "providers", problems)
    _check(referrals, ("provider_id", "referral_date"), "referrals", problems)
    _check(interactions, ("provider_id", "occurred_at", "kind"), "interactions", problems)
    if problems:
        raise InputError("cannot build prospect features", problems=problems)
    providers = providers.reset_index(drop=True).copy()
    if "enrolment_date" in providers.columns:
        known = providers["enrolment_date"].notna()
        enrolled = np.full(len(providers), np.nan)
        enrolled[known.to_numpy()] = _days(providers.loc[known, "enrolment_date"])
        providers["_enrolled"] = enrolled
    else:
        providers["_enrolled"] = np.nan
    # no competitor list: the minutes are unknown (NaN), not far
    if "competitor_minutes" not in providers.columns:
        providers["competitor_minutes"] = np.nan
    if "competitor_estimated" not in providers.columns:
        providers["competitor_estimated"] = False
    providers["competitor_estimated"] = (
        providers["competitor_estimated"].astype("boolean").fillna(False).astype(bool)
    )
    linked = referrals.loc[referrals["provider_id"].notna(), ["provider_id", "referral_date"]]
    linked = linked.assign(_day=_days(linked["referral_date"]))
    known = interactions.loc[interactions["provider_id"].notna()]
    kinds = known["kind"].astype(str).str.strip().str.lower()
    days = _days(known["occurred_at"]) if len(known) else np.empty(0, np.int64)
    contacts = {}
    for kind in CONTACT_KINDS:
        mask = (kinds == kind).to_numpy()
        contacts[kind] = (known["provider_id"].to_numpy()[mask], days[mask])
    return providers, linked, contacts


def provider_months(
    *,
    providers: pd.DataFrame,
    referrals: pd.DataFrame,
    interactions: pd.DataFrame,
    cutoffs: Sequence[date],
    window_days: int,
    lapsed_days: int,
    horizon_months: int,
    history_end: date | None = None,
) -> pd.DataFrame:
    """Feature rows of every prospect at every cut-off (see the module's table).

    Parameters
    ----------
    providers
        One row per provider with :data:`PROVIDER_COLUMNS` (static attributes:
        specialty, the practice, drive minutes to the nearest site) and
        optionally ``enrolment_date``, ``competitor_minutes`` (drive minutes to
        the nearest competitor of the line; NaN: unknown) and
        ``competitor_estimated`` (those minutes are a straight-line estimate).
    referrals
        ``provider_id`` (rows without one are ignored) and ``referral_date``.
        Later events may be present: a row only sees what was known at its cut-off.
    interactions
        ``provider_id``, ``occurred_at`` and ``kind`` (the contact log).
    cutoffs
        The days the rows are taken (e.g. :func:`monthly_cutoffs`).
    window_days, lapsed_days
        The terms' referring window and lapse (:mod:`prospects.terms`): who is a
        prospect at a cut-off.
    horizon_months
        The label's horizon.
    history_end
        Last day of known history: labels of cut-offs whose horizon ends after
        it are NaN. None: no label (scoring today).

    Raises
    ------
    InputError
        A required column is missing.
    """
    providers, linked, contacts = _prepared(providers, referrals, interactions)
    frames = []
    for cutoff in cutoffs:
        ends = {
            label: (pd.Timestamp(cutoff) + pd.DateOffset(months=months)).date()
            for label, months in (("started", horizon_months), ("started_next_month", 1))
        }
        frames.append(
            _at_cutoff(
                providers,
                linked,
                contacts,
                cutoff=cutoff,
                window_days=window_days,
                lapsed_days=lapsed_days,
                label_ends={
                    label: end if history_end is not None and end <= history_end else None
                    for label, end in ends.items()
                },
            )
        )
    if not frames:
        return pd.DataFrame(
            columns=["provider_id", "cutoff", *FEATURE_COLUMNS, "started", "started_next_month"]
        )
    return pd.concat(frames, ignore_index=True)
