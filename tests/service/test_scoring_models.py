"""Fit, judge, promote and serve a scoring model on a clinic's history stored in the database.

The history is a generated referral world (bench.referral_world, independent of the
scoring code) written into the database as loads would leave it: golden records with
coordinates, sites, referral events linked to providers, and the contact log.
"""

from __future__ import annotations

import json
import threading
from datetime import date

import numpy as np
import pytest
from sqlalchemy import select

from core.errors import InputError, ScoringError
from data.models import Prospect
from service.prospecting import model_store
from service.prospecting.model_ops import fit_line, list_line_models, promote_line
from service.prospecting.referrals import compute_referrer_stats
from service.prospecting.scoring import score_sites
from tests.clinicworld import load_world, small_world

AS_OF = date(2025, 6, 30)


@pytest.fixture
def clinic(ctx, tmp_path):
    settings = ctx.settings.model_copy(
        update={"as_of": AS_OF, "scoring_model_dir": tmp_path / "models"}
    )
    object.__setattr__(ctx, "settings", settings)
    load_world(ctx, small_world(2500))
    return ctx


def test_fit_stores_a_version_that_is_not_served_until_promoted(clinic) -> None:
    report = fit_line(clinic, service_line="mri")
    assert report["version"] == 1 and report["starts"] >= 30
    orders = {(o["order"], o["metric"]): o for o in report["orders"]}
    assert {"model", "profile", "distance only", "specialty prior"} <= {o for o, _ in orders}
    assert orders[("model", "auc")]["value"] > orders[("distance only", "auc")]["value"]
    assert len(report["calibration"]) >= 5
    assert (
        model_store.calibration_file(clinic.settings.scoring_model_dir, "MRI", 1).stat().st_size
        > 5000
    )
    [row] = list_line_models(clinic, service_line="MRI")
    assert row["version"] == 1 and not row["active"]
    assert model_store.active_model(clinic.settings.scoring_model_dir, "MRI").model is None

    promoted = promote_line(clinic, service_line="MRI", version=1)  # beats the profile
    assert promoted["gate"]["passed"] and promoted["gate"]["ci_low"] > 0
    compute_referrer_stats(clinic)  # the tiers stage, as the pipeline runs it before scoring
    score_sites(clinic)
    with clinic.sessions() as s:
        rows = s.scalars(select(Prospect)).all()
    assert rows and all(r.profile.startswith("model:mri#1+imaging_mri@") for r in rows)
    for r in rows[:50]:
        names = [c["name"] for c in r.components]
        assert names[0] == "baseline" and names[-1] == "profile prior"
        logit = sum(c["points"] for c in r.components)
        hazard = 1 / (1 + np.exp(-logit))
        assert 0 <= r.score <= 100 and hazard > 0
    # a second fit on the same history cannot be judged out of sample against the first
    fit_line(clinic, service_line="MRI")
    with pytest.raises(ScoringError, match="not promoted") as err:
        promote_line(clinic, service_line="MRI", version=2)
    assert "out of sample" in err.value.problems[0].message
    assert model_store.active_model(clinic.settings.scoring_model_dir, "MRI").model.version == 1


def test_a_broken_model_file_falls_back_to_the_profile_with_a_warning(clinic) -> None:
    root = clinic.settings.scoring_model_dir
    fit_line(clinic, service_line="MRI")
    model_store.promote(root, "MRI", 1, gate={"test": True})
    path = root / "mri" / "model-0001.json"
    path.write_text(path.read_text()[:200])  # truncated: corrupt
    report = score_sites(clinic)
    assert any("cannot be read" in w for w in report.detail["warnings"])
    with clinic.sessions() as s:
        profiles = set(s.scalars(select(Prospect.profile)))
    assert profiles and not any(p.startswith("model:") for p in profiles)
    # a model of another service line in this line's folder is refused the same way
    fit_line(clinic, service_line="MRI")
    data = json.loads((root / "mri" / "model-0002.json").read_text())
    data["service_line"] = "CT"
    (root / "mri" / "model-0002.json").write_text(json.dumps(data))
    (root / "mri" / "active.json").write_text(json.dumps({"version": 2}))
    active = model_store.active_model(root, "MRI")
    assert active.model is None and "is for 'CT'" in active.warning


def test_a_history_that_cannot_be_learned_from_is_refused_and_keeps_the_served_model(
    ctx, tmp_path
) -> None:
    settings = ctx.settings.model_copy(update={"as_of": AS_OF, "scoring_model_dir": tmp_path / "m"})
    object.__setattr__(ctx, "settings", settings)
    load_world(ctx, small_world(600))
    with pytest.raises(InputError, match="outside the data"):
        fit_line(ctx, service_line="MRI", as_of=date(2019, 1, 1))
    with pytest.raises(InputError, match="outside the data"):
        fit_line(ctx, service_line="MRI", as_of=date(2030, 1, 1))
    strict = ctx.settings.model_copy(update={"scoring_min_starts": 100_000})
    object.__setattr__(ctx, "settings", strict)
    with pytest.raises(ScoringError, match="cannot fit") as err:
        fit_line(ctx, service_line="MRI")
    assert "fewer than the 100000" in err.value.problems[0].message
    assert not list(settings.scoring_model_dir.glob("*/model-*.json"))


def test_promotion_is_atomic_for_readers(tmp_path) -> None:
    from prospects.model import fit_model
    from tests.prospects.test_model import FIT, _rows

    root = tmp_path / "models"
    for version in (1, 2):
        model_store.save_model(root, fit_model(_rows(), **{**FIT, "version": version}))
    seen, stop = [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            active = model_store.active_model(root, "MRI")
            seen.append(None if active.model is None else active.model.version)

    model_store.promote(root, "MRI", 1, gate={})
    reader = threading.Thread(target=read)
    reader.start()
    for i in range(200):
        model_store.promote(root, "MRI", 1 + i % 2, gate={})
    stop.set()
    reader.join()
    assert seen and set(seen) <= {1, 2}


def test_a_competitor_list_enters_the_fit_and_the_served_reasons(clinic, tmp_path) -> None:
    from service.ingest.competitors import load_competitors

    world = small_world(2500)
    path = tmp_path / "competitors.csv"
    world.competitors.to_csv(path, index=False)  # name, lat, lon: every line
    assert load_competitors(clinic, path).inserted == len(world.competitors)
    report = fit_line(clinic, service_line="MRI")
    model = model_store.load_version(clinic.settings.scoring_model_dir, "MRI", report["version"])
    assert model.competition and "log_competitor_minutes" in model.columns
    model_store.promote(clinic.settings.scoring_model_dir, "MRI", 1, gate={"test": True})
    compute_referrer_stats(clinic)
    score_sites(clinic)
    with clinic.sessions() as s:
        rows = s.scalars(select(Prospect)).all()
    reasons = [next(c["reason"] for c in r.components if c["name"] == "competition")
               for r in rows[:50]]  # fmt: skip
    # the test's road network is elsewhere: every minute is the straight-line estimate
    assert all(r.startswith("a competitor ") and "(straight-line estimate)" in r for r in reasons)
