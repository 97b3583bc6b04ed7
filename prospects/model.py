"""The learned prospect score: a discrete-time hazard of starting to refer.

Fitted on the clinic's provider-months (:func:`prospects.features.provider_months`)
as a regularised logistic regression: each row is a prospect at a monthly
cut-off, labelled by whether it made a referral in the month after it
(:data:`LABEL`); every month of history is a row, not only those whose whole
horizon is known. The log-odds of that monthly hazard is an intercept plus one
contribution per feature family (:data:`FAMILIES`), so every score is
explained exactly; the score shown is the chance of a start within the
horizon with today's features held, ``1 - (1 - h) ** months``.

The design is fixed and written down here, not searched: distance enters as
log minutes plus hinges at 5, 10, 15, 20, 30 and 45 minutes (a decay of any
shape that is flat near the site and steep farther out), specialty as the
profile's fit plus indicators of the common classifications, each with its
own slope on log minutes (surgeons travel farther than family doctors), and
counts on a log scale; the nearest competitor of the line as log minutes
plus hinges below 5 and 10 minutes, when the clinic has loaded a competitor
list (without one the design is the one before competitor terms, column for
column: :attr:`FittedModel.competition`). Columns are standardised, so the L2 penalty (``C``)
treats them alike; the coefficients are then returned to the raw scale for
storage as plain JSON (no pickles: a model file can be read and diffed).

Blending with the hand-set profile. With little history a fitted model is
noise; the profile is the prior. The served log-odds is
``w * model + (1 - w) * prior`` with ``w = n / (n + k)``, ``n`` the starts the
model was fitted on and ``k`` the setting ``scoring_prior_starts``. The prior's
log-odds is a monotone map of the profile's 0-100 score
(:func:`prior_logit`), so with no history the order is the profile's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.errors import Problem, ScoringError
from prospects.features import CONTACT_KINDS

__all__ = [
    "FAMILIES",
    "FittedModel",
    "blend_weight",
    "contributions",
    "design_matrix",
    "fit_model",
    "predict_logit",
    "prior_logit",
]

_HINGES = (10.0, 20.0, 30.0)
#: Minutes to the nearest competitor under which its pull may steepen (a competitor next
#: door takes more than one 10 minutes away; farther out, log minutes carry the decay).
_COMPETITOR_HINGES = (5.0, 10.0)
#: Months since the last referral where the chance of a restart may change slope.
_SILENCE_HINGES = (4.0, 9.0)
#: Minutes beyond this count as this far (the reach of scoring is 45 min by default).
_MAX_MINUTES = 120.0
#: A classification needs this many starts in the history to get its own indicator and
#: slope; rarer ones rely on the profile's specialty fit (a few starts fit noise).
_MIN_CLASS_STARTS = 25
_MAX_CLASSES = 25

#: Feature family -> plain-words label; each column of the design belongs to one.
FAMILIES: dict[str, str] = {
    "distance": "drive time to the nearest site",
    "specialty": "specialty",
    "practice": "practice size",
    "colleagues": "colleagues referring",
    "past": "referred before",
    "visit": "visits",
    "call": "calls",
    "email": "emails",
    "enrolment": "years in practice (NPI enrolment)",
    "competition": "drive time to the nearest competitor",
    "entity": "organisation or individual",
}


class FittedModel(BaseModel):
    """A fitted model: its design, coefficients (raw scale) and provenance, stored as JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_line: Annotated[str, StringConstraints(min_length=1)]
    version: int = Field(ge=1)
    as_of: date
    horizon_months: int = Field(ge=1)
    fitted_at: datetime
    rows: int = Field(ge=1)
    starts: int = Field(ge=1)
    C: float = Field(gt=0)
    classes: tuple[str, ...]
    columns: tuple[str, ...]
    families: tuple[str, ...]
    intercept: float
    coefficients: tuple[float, ...]
    #: Means of the design columns on the training rows: contributions are measured from them.
    means: tuple[float, ...]
    #: Range of each design column on the training rows: a row is clipped to it before the
    #: coefficients apply, so a value never seen in training (a 15-month silence in a
    #: 12-month history) does not extrapolate a hinge's slope without end.
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    #: Fill values of the numeric inputs (training medians) for rows where they are unknown.
    fills: dict[str, float]
    #: Recalibration of the horizon's chance, ``logit(p) -> a + b * logit(p)``, fitted on the
    #: provider-months whose whole horizon is known: holding today's features over the
    #: horizon (contacts fade, colleagues change) is not exact, and this corrects its bias.
    calibration: tuple[float, float] = (0.0, 1.0)
    #: Whether the design has the competitor terms: the training rows knew the drive minutes
    #: to a competitor of the line. Without them (no competitor list loaded; every model file
    #: written before competitor lists existed) the design is the one before them, to the column.
    competition: bool = False
    #: Backtest figures at fit time (:mod:`prospects.rolling`), for ``prm scoring show``.
    metrics: dict[str, object] = Field(default_factory=dict)
    note: str = ""


def _log1p(values: pd.Series | np.ndarray) -> np.ndarray:
    return np.log1p(np.clip(np.asarray(values, dtype=float), 0.0, None))


def _filled(frame: pd.DataFrame, column: str, fills: Mapping[str, float]) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
    return np.where(np.isnan(values), fills.get(column, 0.0), values)


def _classes(frame: pd.DataFrame, y: np.ndarray) -> tuple[str, ...]:
    starts = (
        pd.Series(y, dtype=float)
        .groupby(frame["classification"].fillna("").astype(str).to_numpy())
        .sum()
    )
    common = starts[(starts >= _MIN_CLASS_STARTS) & (starts.index != "")]
    return tuple(sorted(common.sort_values(ascending=False).index[:_MAX_CLASSES]))


def _fills(frame: pd.DataFrame, *, competition: bool) -> dict[str, float]:
    out = {}
    for column in ("drive_minutes", "practice_size", "enrolment_years"):
        values = pd.to_numeric(frame[column], errors="coerce")
        out[column] = float(values.median()) if values.notna().any() else 0.0
    if competition:
        out["competitor_minutes"] = float(frame["competitor_minutes"].median())
    else:
        out[_NO_COMPETITION] = 0.0
    return out


#: The competition column of a design without competitor terms: constant, so its coefficient
#: is 0 and it changes no score; kept under the name model files written before competitor
#: lists existed have, so that they are served as before.
_NO_COMPETITION = "competitors_near"


def _competition_columns(
    frame: pd.DataFrame, fills: Mapping[str, float], *, competition: bool
) -> list[tuple[str, str, np.ndarray]]:
    """The competition family: log minutes to the nearest competitor of the line, hinges
    below 5 and 10 minutes and the straight-line flag; one constant column without them."""
    if not competition:
        return [(_NO_COMPETITION, "competition", np.zeros(len(frame)))]
    minutes = np.minimum(_filled(frame, "competitor_minutes", fills), _MAX_MINUTES)
    estimated = frame["competitor_estimated"].fillna(False).astype(bool).to_numpy(float)
    return [
        ("log_competitor_minutes", "competition", np.log1p(minutes)),
        *(
            (f"competitor_minutes_under_{h:g}", "competition", np.maximum(h - minutes, 0.0))
            for h in _COMPETITOR_HINGES
        ),
        ("competitor_estimated", "competition", estimated),
    ]


def knows_competitors(frame: pd.DataFrame) -> bool:
    """Whether feature rows know the drive minutes to a competitor (a list was loaded)."""
    return "competitor_minutes" in frame.columns and bool(frame["competitor_minutes"].notna().any())


def design_matrix(
    frame: pd.DataFrame,
    *,
    classes: tuple[str, ...],
    fills: Mapping[str, float],
    competition: bool = False,
) -> tuple[np.ndarray, list[str], list[str]]:
    """The model's columns for feature rows: (matrix, column names, family of each column).

    ``competition``: with the competitor terms (:attr:`FittedModel.competition`).
    """
    cols: list[tuple[str, str, np.ndarray]] = []
    minutes = np.minimum(_filled(frame, "drive_minutes", fills), _MAX_MINUTES)
    log_min = np.log1p(minutes)
    cols.append(("log_minutes", "distance", log_min))
    cols += [(f"minutes_over_{h:g}", "distance", np.maximum(minutes - h, 0.0)) for h in _HINGES]
    unknown_drive = frame["drive_minutes"].isna().to_numpy(float)
    estimated = frame["drive_estimated"].fillna(False).astype(bool).to_numpy(float)
    cols += [
        ("drive_unknown", "distance", unknown_drive),
        ("drive_estimated", "distance", estimated),
    ]
    cols.append(("specialty_fit", "specialty", _filled(frame, "specialty_fit", fills)))
    # classes compared as integer codes: comparing a million strings per class costs seconds
    codes, names = pd.factorize(frame["classification"].fillna(""))
    index = {name: i for i, name in enumerate(names)}
    for name in classes:
        member = (codes == index.get(name, -2)).astype(float)
        cols.append((f"is[{name}]", "specialty", member))
        cols.append((f"log_minutes[{name}]", "distance", member * log_min))
    size = np.maximum(_filled(frame, "practice_size", fills), 1.0)
    cols.append(("log_practice_size", "practice", np.log(size)))
    cols.append(
        ("practice_size_unknown", "practice", frame["practice_size"].isna().to_numpy(float))
    )
    cols.append(("log_colleagues_3m", "colleagues", _log1p(frame["colleagues_3m"])))
    cols.append(("log_colleagues_12m", "colleagues", _log1p(frame["colleagues_12m"])))
    before = frame["referred_before"].astype(bool).to_numpy(float)
    months = np.nan_to_num(frame["months_since_referral"].to_numpy(float), nan=0.0)
    past = np.nan_to_num(frame["past_referrals"].to_numpy(float), nan=0.0)
    cols.append(("referred_before", "past", before))
    cols.append(("log_months_since_referral", "past", before * np.log1p(months)))
    cols += [
        (f"months_since_referral_over_{h:g}", "past", before * np.maximum(months - h, 0.0))
        for h in _SILENCE_HINGES
    ]
    cols.append(("log_past_referrals", "past", np.log1p(past)))
    # referrals a still-active referrer would have sent during its silence: a long silence
    # after a busy year means it stopped; a short one after a quiet year means nothing yet
    cols.append(("expected_missed_referrals", "past", before * past * months / 12.0))
    for kind in CONTACT_KINDS:
        for days in (30, 90):
            cols.append((f"log_{kind}s_{days}d", kind, _log1p(frame[f"{kind}s_{days}d"])))
    years = frame["enrolment_years"]
    cols.append(
        ("log_enrolment_years", "enrolment", _log1p(_filled(frame, "enrolment_years", fills)))
    )
    cols.append(("enrolment_unknown", "enrolment", years.isna().to_numpy(float)))
    cols += _competition_columns(frame, fills, competition=competition)
    cols.append(
        ("is_organisation", "entity", frame["is_organisation"].astype(bool).to_numpy(float))
    )
    return _stacked([c[2] for c in cols]), [c[0] for c in cols], [c[1] for c in cols]


def _stacked(columns: list[np.ndarray], *, block_rows: int = 8192) -> np.ndarray:
    """The columns side by side in a row-major matrix (the layout scikit-learn's solver takes
    without a copy), written a block of rows at a time: writing whole columns one after the
    other strides across every row once per column, several times slower."""
    matrix = np.empty((len(columns[0]), len(columns)))
    for start in range(0, len(matrix), block_rows):
        block = matrix[start : start + block_rows]
        for j, values in enumerate(columns):
            block[:, j] = values[start : start + block_rows]
    return matrix


#: What the model learns: a start in the month after the cut-off (a discrete-time hazard).
LABEL = "started_next_month"


def _training_rows(frame: pd.DataFrame, *, min_starts: int) -> tuple[pd.DataFrame, np.ndarray]:
    labelled = frame[frame[LABEL].notna()]
    y = labelled[LABEL].to_numpy(float).astype(bool)
    starts, rows = int(y.sum()), len(y)
    problems = []
    if rows == 0:
        problems.append(Problem("no provider-month has a known outcome", field="history"))
    elif starts == 0 or starts == rows:
        what = "no prospect started referring" if starts == 0 else "every prospect started"
        problems.append(Problem(f"one class only: {what}", field=LABEL, value=str(starts)))
    elif starts < min_starts:
        problems.append(
            Problem(
                f"{starts} starts, fewer than the {min_starts} a fit needs",
                field=LABEL,
                value=str(starts),
            )
        )
    if problems:
        raise ScoringError("cannot fit a scoring model on this history", problems=problems)
    return labelled, y


def fit_model(
    frame: pd.DataFrame,
    *,
    service_line: str,
    version: int,
    as_of: date,
    horizon_months: int,
    fitted_at: datetime,
    C: float = 0.01,
    min_starts: int = 30,
) -> FittedModel:
    """Fit the monthly hazard on provider-months whose next month is known (:data:`LABEL`).

    Raises
    ------
    ScoringError
        One class only, or fewer than ``min_starts`` starts.
    """
    from sklearn.linear_model import LogisticRegression

    labelled, y = _training_rows(frame, min_starts=min_starts)
    classes = _classes(labelled, y)
    competition = knows_competitors(labelled)
    fills = _fills(labelled, competition=competition)
    x, columns, families = design_matrix(
        labelled, classes=classes, fills=fills, competition=competition
    )
    means = x.mean(axis=0)
    lower, upper = x.min(axis=0), x.max(axis=0)
    z = x - means  # standardised in place: one copy of the matrix, not three
    scale = np.sqrt(np.einsum("ij,ij->j", z, z) / len(z))
    scale[scale == 0] = 1.0
    z /= scale
    fit = LogisticRegression(C=C, max_iter=2000).fit(z, y)
    del z
    coef = fit.coef_[0] / scale
    intercept = float(fit.intercept_[0] - coef @ means)
    calibration = _recalibration(labelled, x, coef=coef, intercept=intercept,
                                 months=horizon_months)  # fmt: skip
    return FittedModel(
        service_line=service_line,
        version=version,
        as_of=as_of,
        horizon_months=horizon_months,
        fitted_at=fitted_at,
        rows=len(y),
        starts=int(y.sum()),
        C=C,
        classes=classes,
        columns=tuple(columns),
        families=tuple(families),
        intercept=intercept,
        coefficients=tuple(float(c) for c in coef),
        means=tuple(float(m) for m in means),
        lower=tuple(float(v) for v in lower),
        upper=tuple(float(v) for v in upper),
        fills=fills,
        calibration=calibration,
        competition=competition,
    )


def _matrix(model: FittedModel, frame: pd.DataFrame) -> np.ndarray:
    x, columns, _ = design_matrix(
        frame, classes=model.classes, fills=model.fills, competition=model.competition
    )
    if tuple(columns) != model.columns:
        raise ScoringError(
            "the stored model does not match this version's design",
            problems=[Problem("columns differ; fit the model again", field="model")],
        )
    return np.clip(x, np.asarray(model.lower), np.asarray(model.upper))


def predict_logit(model: FittedModel, frame: pd.DataFrame) -> np.ndarray:
    """The model's log-odds of starting in the next month (the hazard), per feature row."""
    return model.intercept + _matrix(model, frame) @ np.asarray(model.coefficients)


def contributions(model: FittedModel, frame: pd.DataFrame) -> tuple[float, pd.DataFrame]:
    """Per-family log-odds contributions, measured from the average training row.

    Returns the baseline (the log-odds of a row at the training means) and a
    frame with one column per family in :data:`FAMILIES`; for each row the
    baseline plus the row's contributions equals :func:`predict_logit`.
    """
    x = _matrix(model, frame)
    coef = np.asarray(model.coefficients)
    means = np.asarray(model.means)
    parts = (x - means) * coef
    families = np.asarray(model.families)
    out = pd.DataFrame(
        {name: parts[:, families == name].sum(axis=1) for name in FAMILIES}, index=frame.index
    )
    return float(model.intercept + coef @ means), out


def blend_weight(*, starts: int, prior_starts: float) -> float:
    """``n / (n + k)``: the fitted model's share against the hand-set profile."""
    return starts / (starts + prior_starts) if starts + prior_starts > 0 else 0.0


def prior_logit(score: np.ndarray, *, base_rate: float, slope: float) -> np.ndarray:
    """The profile's 0-100 score as the log-odds of a monthly start:
    ``logit(base_rate) + slope * (score - 50) / 50``.

    Monotone in the score, so a prior-only ranking is the profile's ranking.
    """
    return (
        math.log(base_rate / (1.0 - base_rate)) + slope * (np.asarray(score, float) - 50.0) / 50.0
    )


def _recalibration(
    labelled: pd.DataFrame, x: np.ndarray, *, coef: np.ndarray, intercept: float, months: int
) -> tuple[float, float]:
    """Platt scaling of the horizon's chance on the training rows whose horizon is known
    (``x``: their design, row for row with ``labelled``)."""
    from sklearn.linear_model import LogisticRegression

    if "started" not in labelled.columns:
        return 0.0, 1.0
    known = labelled["started"].notna().to_numpy()
    y = labelled["started"].to_numpy(float)[known].astype(bool)
    if not 0 < y.sum() < len(y):
        return 0.0, 1.0
    p = horizon_probability(intercept + x[known] @ coef, months=months)
    z = np.log(p / (1.0 - p))[:, None]
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(z, y)
    return float(fit.intercept_[0]), float(fit.coef_[0, 0])


def calibrated(model: FittedModel, probability: np.ndarray) -> np.ndarray:
    """The horizon's chance through the model's recalibration."""
    a, b = model.calibration
    p = np.clip(np.asarray(probability, dtype=float), 1e-12, 1 - 1e-12)
    return 1.0 / (1.0 + np.exp(-(a + b * np.log(p / (1.0 - p)))))


def horizon_probability(logit: np.ndarray, *, months: int) -> np.ndarray:
    """Chance of a start within ``months`` from the monthly hazard's log-odds, the features
    held as they are today: ``1 - (1 - h) ** months``."""
    hazard = 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=float)))
    return -np.expm1(months * np.log1p(-hazard))


def _count(n: float, one: str) -> str:
    return f"{n:.0f} {one}{'' if n == 1 else 's'}"


def _family_texts(row: Mapping[str, object]) -> dict[str, str]:
    """What each family saw in one feature row, in plain words."""
    minutes = row.get("drive_minutes")
    known = minutes is not None and not pd.isna(minutes)
    months = row.get("months_since_referral")
    size = row.get("practice_size")
    years = row.get("enrolment_years")
    competitor = row.get("competitor_minutes")
    contact = {
        kind: f"{_count(row.get(f'{kind}s_30d', 0), kind)} in 30 days, "
        f"{row.get(f'{kind}s_90d', 0):.0f} in 90"
        for kind in CONTACT_KINDS
    }
    return {
        "distance": (
            f"{minutes:.0f} min drive to the nearest site"
            + (" (straight-line estimate)" if row.get("drive_estimated") else "")
            if known
            else "drive time unknown"
        ),
        "specialty": str(row.get("classification") or "specialty unknown"),
        "practice": "practice size unknown"
        if size is None or pd.isna(size)
        else f"{_count(size, 'provider')} in the practice",
        "colleagues": f"{row.get('colleagues_3m', 0):.0f} colleagues referred in the last"
        f" 3 months, {row.get('colleagues_12m', 0):.0f} in 12",
        "past": f"referred before, last {months:.0f} months ago "
        f"({row.get('past_referrals', 0):.0f} referrals in the last year)"
        if row.get("referred_before")
        else "never referred",
        **contact,
        "enrolment": "enrolment date unknown"
        if years is None or pd.isna(years)
        else f"NPI enrolled {years:.1f} years ago",
        "competition": "competitors unknown"
        if competitor is None or pd.isna(competitor)
        else f"a competitor {competitor:.0f} min away"
        + (" (straight-line estimate)" if row.get("competitor_estimated") else ""),
        "entity": "an organisation" if row.get("is_organisation") else "an individual",
    }


def learned_scores(
    model: FittedModel,
    frame: pd.DataFrame,
    *,
    prior: np.ndarray,
    weight: float,
    explain: bool = True,
) -> pd.DataFrame:
    """Blended chances of starting within the horizon, explained per family.

    The blend and the explanation are in the log-odds of the monthly hazard;
    ``probability`` is the chance of a start within the model's horizon
    (:func:`horizon_probability`).

    Parameters
    ----------
    model
        The fitted model.
    frame
        Feature rows (:func:`prospects.features.provider_months` at one cut-off).
    prior
        The hand-set profile's log-odds of a monthly start per row (:func:`prior_logit`).
    weight
        The model's share, :func:`blend_weight`.
    explain
        Build ``components``: per row ``baseline``, one entry per family and
        ``profile prior``, whose ``points`` (log-odds) add up to ``logit``.

    Returns
    -------
    pandas.DataFrame
        ``logit`` (monthly hazard), ``probability`` (within the horizon) and, if
        ``explain``, ``components``, on
        ``frame``'s index.
    """
    baseline, parts = contributions(model, frame)
    prior = np.asarray(prior, dtype=float)
    logit = weight * (baseline + parts.sum(axis=1).to_numpy()) + (1.0 - weight) * prior
    probability = calibrated(model, horizon_probability(logit, months=model.horizon_months))
    out = pd.DataFrame({"logit": logit, "probability": probability}, index=frame.index)
    if not explain:
        return out
    shares = parts.to_numpy() * weight
    rows = frame.to_dict("records")
    components = []
    for i, row in enumerate(rows):
        texts = _family_texts(row)
        items = [_item("baseline", weight, weight * baseline, "the average prospect's odds")]
        for j, family in enumerate(FAMILIES):
            c = float(shares[i, j])
            direction = "raises" if c > 0 else "lowers" if c < 0 else "leaves"
            items.append(_item(family, weight, c, f"{texts[family]}: {direction} the odds"))
        items.append(
            _item("profile prior", 1.0 - weight, (1.0 - weight) * prior[i], "hand-set profile")
        )
        components.append(items)
    out["components"] = components
    return out


def _item(name: str, weight: float, points: float, reason: str) -> dict[str, object]:
    return {
        "name": name,
        "value": round(weight, 4),
        "weight": round(weight, 4),
        "points": round(float(points), 4),
        "reason": reason,
    }
