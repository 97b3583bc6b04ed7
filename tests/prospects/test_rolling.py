"""The rolling-origin backtest (prospects/rolling.py): origins, no look-ahead, refusals, the profile.

Small synthetic provider-months in the shape :func:`prospects.features.provider_months`
returns (the columns of tests/prospects/test_model.py's ``_rows``, one row per provider and
month end), labelled with a known hazard: near providers with visits start more often.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError, ScoringError
from geo.fallback import Fallback
from prospects.features import monthly_cutoffs
from prospects.model import fit_model, prior_logit
from prospects.profiles import load_profile
from prospects.rolling import origins_for, profile_scores, rolling_predictions
from prospects.scoring import score_prospects

HORIZON = 6
AS_OF = date(2024, 12, 31)
CUTOFFS = monthly_cutoffs(first=date(2023, 1, 1), last=AS_OF)  # 24 month ends
PROFILE = load_profile("imaging_mri")
FALLBACK = Fallback()
PREDICTED = ["model", "profile", "distance only", "specialty prior"]


def _after(day: date, months: int) -> date:
    return (pd.Timestamp(day) + pd.DateOffset(months=months)).date()


def _months(
    providers: int = 150, seed: int = 0, *, quiet_until: date | None = None
) -> pd.DataFrame:
    """Every provider a prospect at every cut-off; labels known up to :data:`AS_OF`.

    ``quiet_until``: nobody starts in a month ending on or before this day.
    """
    rng = np.random.default_rng(seed)
    n = providers * len(CUTOFFS)
    pid = np.tile(np.arange(1, providers + 1), len(CUTOFFS))
    cutoff = np.repeat(np.array(CUTOFFS, dtype=object), providers)
    minutes = np.tile(rng.uniform(2, 45, providers), len(CUTOFFS))
    ortho = np.tile(rng.random(providers) < 0.4, len(CUTOFFS))
    visits = rng.poisson(0.4, n)
    before = rng.random(n) < 0.1
    hazard = 1 / (1 + np.exp(-(-2.0 - 0.06 * minutes + 0.9 * visits + 1.2 * before)))
    started_next = (rng.random(n) < hazard).astype(float)
    started = np.maximum(started_next, (rng.random(n) < 2 * hazard).astype(float))
    if quiet_until is not None:
        quiet = np.array([_after(c, 1) <= quiet_until for c in cutoff])
        started_next[quiet] = 0.0
        started[np.array([_after(c, HORIZON) <= quiet_until for c in cutoff])] = 0.0
    started_next[np.array([_after(c, 1) > AS_OF for c in cutoff])] = np.nan
    started[np.array([_after(c, HORIZON) > AS_OF for c in cutoff])] = np.nan
    return pd.DataFrame(
        {
            "provider_id": pid,
            "cutoff": cutoff,
            "taxonomy_code": np.where(ortho, "207X00000X", "207Q00000X"),
            "classification": np.where(ortho, "Orthopaedic Surgery", "Family Medicine"),
            "specialty_fit": np.where(ortho, 1.0, 0.3),
            "drive_minutes": minutes,
            "drive_estimated": rng.random(n) < 0.05,
            "distance_km": minutes * 0.6,
            "practice_size": np.where(rng.random(n) < 0.2, np.nan, rng.integers(1, 20, n)),
            "colleagues_3m": rng.poisson(0.2, n),
            "colleagues_12m": rng.poisson(0.5, n),
            "referred_before": before,
            "months_since_referral": np.where(before, rng.uniform(3, 20, n), np.nan),
            "past_referrals": np.where(before, rng.poisson(2, n), 0),
            **{f"{k}s_{d}d": visits if k == "visit" else 0 for k in ("visit", "call", "email")
               for d in (30, 90)},
            "days_since_contact": np.where(visits > 0, rng.uniform(1, 90, n), np.nan),
            "enrolment_years": rng.uniform(0, 30, n),
            "competitor_minutes": np.nan,
            "is_organisation": rng.random(n) < 0.05,
            "started": started,
            "started_next_month": started_next,
        }
    )  # fmt: skip


def _fit(rows: pd.DataFrame, origin: date, *, min_starts: int = 30):
    return fit_model(rows, service_line="MRI", version=1, as_of=origin, horizon_months=HORIZON,
                     fitted_at=datetime(2025, 1, 1), min_starts=min_starts)  # fmt: skip


def _predict(frame: pd.DataFrame, origins: list[date], **kw) -> tuple[pd.DataFrame, list[str]]:
    kw.setdefault("fit", _fit)
    return rolling_predictions(
        frame,
        origins=origins,
        horizon_months=HORIZON,
        weight=lambda model: 0.5,
        profile=PROFILE,
        prior=lambda points: prior_logit(points, base_rate=0.01, slope=2.0),
        fallback=FALLBACK,
        **kw,
    )


def test_origins_are_the_latest_whose_horizon_is_known_a_step_apart() -> None:
    # June 30 + 6 months = 30 December: known on 31 December; July 31 + 6 months is not
    picked = origins_for(CUTOFFS, as_of=AS_OF, horizon_months=HORIZON, count=3)
    assert picked == [date(2023, 12, 31), date(2024, 3, 31), date(2024, 6, 30)]
    monthly = origins_for(CUTOFFS, as_of=AS_OF, horizon_months=HORIZON, count=2, step_months=1)
    assert monthly == [date(2024, 5, 31), date(2024, 6, 30)]
    assert origins_for(CUTOFFS, as_of=date(2024, 12, 30), horizon_months=HORIZON, count=1) == [
        date(2024, 6, 30)
    ]
    assert origins_for(CUTOFFS, as_of=date(2024, 12, 29), horizon_months=HORIZON, count=1) == [
        date(2024, 5, 31)
    ]
    # fewer than asked when the history is short; none when no horizon is over yet
    assert len(origins_for(CUTOFFS, as_of=AS_OF, horizon_months=HORIZON, count=50)) == 6
    assert origins_for(CUTOFFS, as_of=date(2023, 6, 30), horizon_months=HORIZON, count=4) == []


def test_every_prospect_at_each_origin_is_ranked_by_each_order() -> None:
    frame = _months()
    origins = [date(2024, 3, 31), date(2024, 6, 30)]
    out, notes = _predict(frame, origins)
    assert notes == []
    for origin in origins:
        at = frame[frame["cutoff"] == origin]
        got = out[out["cutoff"] == origin]
        assert got["provider_id"].tolist() == at["provider_id"].tolist()
        assert got["started"].tolist() == at["started"].astype(bool).tolist()
    assert set(PREDICTED) <= set(out.columns) and "current" not in out.columns
    assert out["model"].between(0, 1).all()
    np.testing.assert_allclose(out["distance only"], -np.tile(frame["drive_minutes"][:150], 2))


def test_no_look_ahead_labels_and_features_after_the_origin_change_nothing() -> None:
    """Rows train a fit at an origin only once their next month is over by it, and only the
    labels known on that day are used: changing everything later leaves the scores as they are."""
    frame = _months()
    origin = date(2024, 3, 31)
    later = frame.copy()
    next_after = np.array([_after(c, 1) > origin for c in frame["cutoff"]])
    horizon_after = np.array([_after(c, HORIZON) > origin for c in frame["cutoff"]])
    later.loc[next_after, "started_next_month"] = 1 - frame["started_next_month"][next_after]
    later.loc[horizon_after, "started"] = 1 - frame["started"][horizon_after]
    after = (frame["cutoff"] > origin).to_numpy()
    later.loc[after, "drive_minutes"] = 1.0
    later.loc[after, "visits_30d"] = 9
    a, _ = _predict(frame, [origin])
    b, _ = _predict(later, [origin])
    pd.testing.assert_frame_equal(a[["provider_id", *PREDICTED]], b[["provider_id", *PREDICTED]])
    assert (a["started"] != b["started"]).all()  # the labels judged are the origin's own

    # the rows seen by each fit: next month over by the origin, and no more
    seen: list[pd.DataFrame] = []

    def spy(rows: pd.DataFrame, day: date):
        seen.append(rows)
        return _fit(rows, day)

    _predict(frame, [origin], fit=spy)
    (rows,) = seen
    assert max(rows["cutoff"]) == date(2024, 2, 29)
    assert len(rows) == (frame["cutoff"] <= date(2024, 2, 29)).sum()
    unknown = np.array([_after(c, HORIZON) > origin for c in rows["cutoff"]])
    assert rows.loc[unknown, "started"].isna().all()  # the horizon's label, not yet known
    assert rows.loc[~unknown, "started"].notna().all()


def test_an_origin_with_too_few_starts_before_it_is_skipped_with_a_note() -> None:
    frame = _months(quiet_until=date(2023, 12, 31))  # no start in 2023
    early, late = date(2023, 12, 31), date(2024, 6, 30)
    out, notes = _predict(frame, [early, late])
    assert set(out["cutoff"]) == {late}
    (note,) = notes
    assert note.startswith("2023-12-31: skipped") and "one class only" in note
    few, _ = _predict(frame, [late])
    pd.testing.assert_frame_equal(out, few)
    with pytest.raises(ScoringError, match="no origin could be backtested") as err:
        _predict(
            frame,
            [early, date(2024, 6, 30)],
            fit=lambda rows, day: _fit(rows, day, min_starts=10**6),
        )
    assert [p.message.split(":")[0] for p in err.value.problems] == ["2023-12-31", "2024-06-30"]
    with pytest.raises(InputError, match="no origin"):
        _predict(frame, [])


def test_the_served_model_is_judged_only_after_its_own_as_of() -> None:
    frame = _months()
    origins = [date(2024, 3, 31), date(2024, 6, 30)]
    served = _fit(frame[frame["cutoff"] <= date(2024, 3, 31)], date(2024, 4, 30))
    out, _ = _predict(frame, origins, current=served)
    assert out.loc[out["cutoff"] == origins[0], "current"].isna().all()
    assert out.loc[out["cutoff"] == origins[1], "current"].between(0, 1).all()


def test_profile_scores_are_the_scoring_stages_on_the_same_inputs() -> None:
    rows = _months(40, seed=5)
    rows = rows[rows["cutoff"] == date(2024, 6, 30)].reset_index(drop=True)
    rows.loc[:3, "drive_minutes"] = np.nan  # unknown minutes: the straight-line estimate
    candidates = pd.DataFrame(
        {
            "provider_id": rows["provider_id"],
            "taxonomy_code": rows["taxonomy_code"],
            "classification": rows["classification"],
            "entity_type": rows["is_organisation"].map({True: "organisation", False: "individual"}),
            "drive_minutes": rows["drive_minutes"],
            "distance_km": rows["distance_km"],
            "practice_size": rows["practice_size"],
            "org_referring": rows["colleagues_12m"] > 0,  # a colleague referring in the window
            "days_since_contact": rows["days_since_contact"],
            "proximity_estimated": rows["drive_estimated"],
        }
    )
    expected = score_prospects(candidates, PROFILE, fallback=FALLBACK, explain=False)
    got = profile_scores(rows, PROFILE, fallback=FALLBACK)
    np.testing.assert_array_equal(got, expected["score"].to_numpy(float))
    assert len(set(got)) > 10  # the inputs matter
    assert profile_scores(rows.iloc[:0], PROFILE, fallback=FALLBACK).size == 0
