"""The learned score: exact contributions, the blend with the profile, refusals."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from core.errors import ScoringError
from prospects.model import (
    FAMILIES,
    FittedModel,
    blend_weight,
    contributions,
    fit_model,
    knows_competitors,
    learned_scores,
    predict_logit,
    prior_logit,
)
from tests.paths import FIXTURES

FIT = {"service_line": "MRI", "version": 1, "as_of": date(2025, 6, 30), "horizon_months": 6,
       "fitted_at": datetime(2025, 7, 1)}  # fmt: skip


def _rows(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    minutes = rng.uniform(2, 45, n)
    visits = rng.poisson(0.3, n)
    before = rng.random(n) < 0.1
    logit = -2.5 - 0.08 * minutes + 0.8 * visits + 1.5 * before
    started = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "provider_id": np.arange(n),
            "classification": rng.choice(["Family Medicine", "Orthopaedic Surgery"], n),
            "specialty_fit": rng.uniform(0, 1, n),
            "drive_minutes": minutes,
            "drive_estimated": rng.random(n) < 0.05,
            "practice_size": np.where(rng.random(n) < 0.2, np.nan, rng.integers(1, 20, n)),
            "colleagues_3m": rng.poisson(0.2, n),
            "colleagues_12m": rng.poisson(0.5, n),
            "referred_before": before,
            "months_since_referral": np.where(before, rng.uniform(3, 20, n), np.nan),
            "past_referrals": np.where(before, rng.poisson(2, n), 0),
            **{f"{k}s_{d}d": visits if k == "visit" else 0 for k in ("visit", "call", "email")
               for d in (30, 90)},
            "enrolment_years": rng.uniform(0, 30, n),
            "competitor_minutes": np.nan,
            "is_organisation": False,
            "started_next_month": started.astype(float),
        }
    )  # fmt: skip


def test_contributions_add_up_to_the_log_odds_and_the_fit_learns_the_signs() -> None:
    rows = _rows()
    model = fit_model(rows, **FIT)
    baseline, parts = contributions(model, rows)
    assert list(parts.columns) == list(FAMILIES)
    np.testing.assert_allclose(baseline + parts.sum(axis=1), predict_logit(model, rows), atol=1e-9)
    coef = dict(zip(model.columns, model.coefficients, strict=True))
    assert coef["log_visits_30d"] + coef["log_visits_90d"] > 0
    assert coef["referred_before"] > 0
    near, far = rows.assign(drive_minutes=5.0), rows.assign(drive_minutes=40.0)
    assert (predict_logit(model, near) > predict_logit(model, far)).mean() > 0.99


def test_served_components_add_up_and_no_history_keeps_the_profile_order() -> None:
    rows = _rows(500)
    model = fit_model(_rows(), **FIT)
    points = np.random.default_rng(1).uniform(0, 100, len(rows))
    prior = prior_logit(points, base_rate=0.03, slope=2.0)
    out = learned_scores(model, rows, prior=prior, weight=0.7)
    sums = [sum(c["points"] for c in comps) for comps in out["components"]]
    np.testing.assert_allclose(sums, out["logit"], atol=1e-3)
    assert {c["name"] for c in out["components"].iloc[0]} == {
        "baseline",
        "profile prior",
        *FAMILIES,
    }
    only_prior = learned_scores(model, rows, prior=prior, weight=0.0, explain=False)
    assert (np.argsort(only_prior["probability"].to_numpy()) == np.argsort(points)).all()
    assert blend_weight(starts=0, prior_starts=50) == 0.0
    assert blend_weight(starts=150, prior_starts=50) == 0.75


def test_a_fit_refuses_one_class_or_too_few_starts() -> None:
    rows = _rows()
    with pytest.raises(ScoringError, match="cannot fit") as err:
        fit_model(rows.assign(started_next_month=0.0), **FIT)
    assert "one class" in err.value.problems[0].message
    few = rows.assign(started_next_month=0.0)
    few.loc[:9, "started_next_month"] = 1.0
    with pytest.raises(ScoringError) as err:
        fit_model(few, **FIT, min_starts=30)
    assert "10 starts" in err.value.problems[0].message
    with pytest.raises(ScoringError):
        fit_model(rows.assign(started_next_month=np.nan), **FIT)


def test_a_model_survives_its_json_and_refuses_another_design() -> None:
    model = fit_model(_rows(), **FIT)
    again = FittedModel.model_validate_json(model.model_dump_json())
    rows = _rows(200, seed=3)
    np.testing.assert_allclose(predict_logit(again, rows), predict_logit(model, rows))
    other = again.model_copy(update={"columns": (*again.columns[:-1], "something_else")})
    with pytest.raises(ScoringError, match="design"):
        predict_logit(other, rows)


def test_monthly_chances_are_calibrated_on_a_generated_world() -> None:
    """Fitted on half the providers of a generated world, judged on the other half's months.

    Ten bins of at least 200 provider-months each, exact 95% intervals: a perfectly
    calibrated model misses about one bin in twenty by chance, so at least 8 of 10 must
    hold (bench.scoring_quality reports the bins of every seed).
    """
    from bench.referral_world import generate_world
    from bench.scoring_quality import _features
    from prospects.calibration import calibration_bins
    from prospects.profiles import load_profile

    world = generate_world(seed=1)
    frame = _features(world, load_profile("imaging_mri"), cutoff=date(2025, 1, 1))
    frame = frame[frame["started_next_month"].notna()]
    half = (frame["provider_id"] % 2 == 0).to_numpy()
    model = fit_model(frame[half], **FIT)
    test = frame[~half]
    hazard = 1 / (1 + np.exp(-predict_logit(model, test)))
    bins = calibration_bins(test["started_next_month"].astype(bool), hazard, bins=10, min_count=200)
    assert len(bins) == 10 and (bins["count"] >= 200).all()
    assert bins["within_interval"].sum() >= 8, bins.to_string()


def test_without_competitors_the_model_is_the_one_before_them() -> None:
    """No competitor list: the design, the fit and a stored model's scores are those of the
    commit before competitor terms (its model and predictions are the fixture)."""
    golden = json.loads((FIXTURES / "prospects" / "model_before_competitors.json").read_text())
    before = FittedModel.model_validate(golden["model"])  # a model file written then
    rows = _rows(200, seed=3)
    assert not before.competition
    np.testing.assert_array_equal(predict_logit(before, rows), golden["logit"])
    model = fit_model(_rows(), **FIT)
    assert not model.competition and model.columns == before.columns
    np.testing.assert_allclose(model.coefficients, before.coefficients, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(predict_logit(model, rows), golden["logit"], rtol=1e-12)
    # minutes known at scoring time change nothing in a model fitted without them
    known = rows.assign(competitor_minutes=1.0, competitor_estimated=True)
    np.testing.assert_array_equal(predict_logit(model, known), predict_logit(model, rows))
    assert (contributions(model, known)[1]["competition"] == 0).all()


def _with_competitors(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    rows = _rows(n, seed)
    rng = np.random.default_rng(seed + 10)
    minutes = rng.uniform(0.5, 40, n)
    base = -2.5 - 0.08 * rows["drive_minutes"] + 0.8 * rows["visits_30d"]
    logit = base + 1.5 * rows["referred_before"] - 2.0 * np.exp(-minutes / 4)
    started = rng.random(n) < 1 / (1 + np.exp(-logit))
    return rows.assign(competitor_minutes=minutes, competitor_estimated=rng.random(n) < 0.1,
                       started_next_month=started.astype(float))  # fmt: skip


def test_competitor_terms_learn_that_a_competitor_next_door_lowers_the_odds() -> None:
    rows = _with_competitors()
    assert knows_competitors(rows) and not knows_competitors(_rows(10))
    model = fit_model(rows, **FIT)
    assert model.competition
    assert {"log_competitor_minutes", "competitor_minutes_under_5",
            "competitor_minutes_under_10", "competitor_estimated"} <= set(model.columns)  # fmt: skip
    assert "competitors_near" not in model.columns
    near, far = rows.assign(competitor_minutes=1.0), rows.assign(competitor_minutes=30.0)
    assert (predict_logit(model, near) < predict_logit(model, far)).mean() > 0.99
    # clipped to the training range: minutes never seen do not extrapolate a hinge
    np.testing.assert_allclose(
        predict_logit(model, rows.assign(competitor_minutes=500.0)),
        predict_logit(model, rows.assign(competitor_minutes=200.0)),
    )
    out = learned_scores(model, rows.head(3).assign(competitor_minutes=[4.2, 12.0, np.nan],
                                                    competitor_estimated=[False, True, False]),
                         prior=np.zeros(3), weight=1.0)  # fmt: skip
    reasons = [next(c["reason"] for c in comps if c["name"] == "competition")
               for comps in out["components"]]  # fmt: skip
    assert reasons[0].startswith("a competitor 4 min away: lowers the odds")
    assert reasons[1].startswith("a competitor 12 min away (straight-line estimate)")
    assert reasons[2].startswith("competitors unknown")
    again = FittedModel.model_validate_json(model.model_dump_json())
    np.testing.assert_allclose(predict_logit(again, rows), predict_logit(model, rows))
