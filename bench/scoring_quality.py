"""How well the learned score ranks, judged on referral worlds the product did not design.

    python -m bench.scoring_quality --seeds 1 2 3 4 5
    python -m bench.scoring_quality --timing-rows 1000000

Each seed's world (:mod:`bench.referral_world`, its parameters committed before
the model and its hazard unknown to the product) is handed over as a clinic
would see it: the registry's attributes (reported practice size, not the true
one), the referral log with about 30% of referrers in free text only (linked
by the product's matcher, :func:`enrichment.freetext.match_free_text`, as a
load does; unmatched ones are lost, as live), the contact log, drive
minutes to the sites, and the competitors: the world's ``competitors.csv``
(:func:`bench.referral_world_files.write_clinic_files`) loaded as ``prm ingest
competitors`` loads it, into a throwaway SQLite database, and the drive
minutes from each provider to the nearest by the product's one router rule
(:func:`service.prospecting.learning.competitor_minutes`, the bundled Columbus
road network; straight-line estimates off it, flagged). The cut-off is the first day of the month six months before the
history ends; everything after it is hidden. The product's features and fit
(:mod:`prospects.features`, :mod:`prospects.model`, served blend with the
shipped MRI profile) rank every prospect at the cut-off, beside:

* the oracle: the world's true probability of starting (:func:`oracle_start_probability`);
* distance only, the specialty prior (the profile's fit) and the hand-set profile.

Labels are the world's truth (:func:`started_within`). Reported per seed:
p@25/50/100, AUC, Brier, and the paired bootstrap 95% interval of each
difference to the model (resampling prospects); then the pooled verdicts of
issue 19: AUC within 0.02 of the oracle's, p@50 at least 85% of the oracle's,
the model above each baseline with the interval above 0.

``--timing-rows N``: the feature build and the fit timed on a world scaled to
about N provider-months, beside a plain scikit-learn ``LogisticRegression``
(default settings) fitted on the same design matrix in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from bench.referral_world import (
    generate_world,
    load_params,
    oracle_start_probability,
    started_within,
)
from bench.referral_world_files import write_clinic_files
from enrichment.freetext import match_free_text
from geo.distance import haversine_km
from geo.fallback import Fallback
from prospects.bootstrap import compare_orders
from prospects.calibration import calibration_bins
from prospects.features import monthly_cutoffs, provider_months
from prospects.model import (
    LABEL,
    blend_weight,
    design_matrix,
    fit_model,
    learned_scores,
    prior_logit,
)
from prospects.profiles import load_profile
from prospects.rolling import profile_scores
from prospects.specialties import resolve_specialties

HORIZON = 6
#: The product's defaults (core.settings): the blend's k, the prior's base rate and slope.
PRIOR_STARTS, BASE_RATE, SLOPE = 50.0, 0.005, 2.0
RESULTS = Path(__file__).resolve().parent / "results" / "scoring_quality.json"


def _linked_referrals(world) -> pd.DataFrame:  # noqa: ANN001
    """Referrals as a load links them: by NPI, else by the free-text matcher."""
    prov = world.providers
    by_npi = dict(zip(prov["npi"].astype(str), prov["provider_id"], strict=True))
    refs = world.referrals
    npi = refs["npi"].fillna("").astype(str)
    linked = npi.map(by_npi).astype(float)
    free = linked.isna() & refs["referrer_name"].notna()
    people = prov[prov["entity_type"].astype(str) == "1"]
    golden = pd.DataFrame(
        {
            "provider_id": people["provider_id"],
            "first_name": people["first_name"],
            "last_name": people["last_name"],
            "middle_name": people["middle_name"],
            "classification": people["classification"],
            "city": people["city"],
            "practice": people["organization_name"],
        }
    )
    matches = match_free_text(refs.loc[free, "referrer_name"], golden)
    found = [np.nan if m.provider_id is None else float(m.provider_id) for m in matches]
    linked.loc[free] = np.asarray(found, dtype=float)
    out = pd.DataFrame({"provider_id": linked, "referral_date": refs["referral_date"]})
    return out[out["provider_id"].notna()].astype({"provider_id": "int64"})


def _contacts(world) -> pd.DataFrame:  # noqa: ANN001
    by_npi = dict(zip(world.providers["npi"].astype(str), world.providers["provider_id"],
                      strict=True))  # fmt: skip
    inter = world.interactions
    return pd.DataFrame(
        {
            "provider_id": inter["npi"].astype(str).map(by_npi),
            "occurred_at": pd.to_datetime(inter["date"]),
            "kind": inter["kind"],
        }
    ).dropna(subset=["provider_id"])


@contextmanager
def clinic_context():  # noqa: ANN201 - a service.context.AppContext
    """The product's context on a throwaway SQLite database (the settings' road network)."""
    from core.settings import load_settings
    from service.context import open_context

    with tempfile.TemporaryDirectory(prefix="prm-scoring-quality-") as tmp:
        settings = load_settings().model_copy(update={"database_url": f"sqlite:///{tmp}/db"})
        ctx = open_context(settings)
        try:
            yield ctx
        finally:
            ctx.close()


def competitor_minutes(ctx, world) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """The world's competitors.csv loaded as ``prm ingest competitors`` loads it (replacing
    the list of the seed before), and the minutes from each provider to the nearest competitor
    of the MRI line with their straight-line flags, as the product computes them."""
    from service.ingest.competitors import load_competitors
    from service.prospecting.learning import competitor_minutes as nearest
    from service.prospecting.learning import line_competitors

    with tempfile.TemporaryDirectory(prefix="prm-world-files-") as tmp:
        load_competitors(ctx, write_clinic_files(world, tmp)["competitors"])
    with ctx.sessions() as session:
        rivals = line_competitors(session, "MRI")
    return nearest(ctx, rivals, world.providers["lat"], world.providers["lon"])


def _providers(world, profile, rivals=None) -> pd.DataFrame:  # noqa: ANN001
    """What the product knows of each provider: registry attributes and drive minutes
    (``rivals``: :func:`competitor_minutes`, row for row with the world's providers)."""
    prov = world.providers
    drive = world.drive.pivot(index="provider_id", columns="site_code", values="drive_minutes")
    nearest = drive.idxmin(axis=1)
    sites = world.sites.set_index("site_code")
    site_lat = nearest.map(sites["lat"]).reindex(prov["provider_id"]).to_numpy(float)
    site_lon = nearest.map(sites["lon"]).reindex(prov["provider_id"]).to_numpy(float)
    frame = pd.DataFrame(
        {
            "provider_id": prov["provider_id"].to_numpy(),
            "taxonomy_code": prov["taxonomy_code"].to_numpy(),
            "classification": prov["classification"].to_numpy(),
            "organization_id": prov["organization_id"].to_numpy(float),
            "practice_size": prov["practice_size_reported"].to_numpy(float),
            "drive_minutes": drive.min(axis=1).reindex(prov["provider_id"]).to_numpy(float),
            "drive_estimated": False,
            "distance_km": haversine_km(site_lat, site_lon, prov["lat"].to_numpy(float),
                                        prov["lon"].to_numpy(float)),
            "is_organisation": prov["entity_type"].astype(str).to_numpy() == "2",
            "enrolment_date": pd.to_datetime(prov["enumeration_date"]).to_numpy(),
        }
    )  # fmt: skip
    if rivals is not None:
        frame["competitor_minutes"], frame["competitor_estimated"] = rivals
    index, matches = resolve_specialties(frame["taxonomy_code"], frame["classification"], profile)
    frame["specialty_fit"] = np.array([m.fit for m in matches], dtype=float)[index]
    return frame


def _inputs(world, profile, *, cutoff: date, rivals=None) -> dict:  # noqa: ANN001
    """What a clinic's database holds the day before the cut-off, as provider_months reads it."""
    as_of = cutoff - timedelta(days=1)
    refs = _linked_referrals(world)
    refs = refs[pd.to_datetime(refs["referral_date"]) <= pd.Timestamp(as_of)]
    contacts = _contacts(world)
    contacts = contacts[contacts["occurred_at"] <= pd.Timestamp(as_of)]
    first = (pd.Timestamp(world.start) + pd.DateOffset(months=3)).date()
    return {
        "providers": _providers(world, profile, rivals),
        "referrals": refs,
        "interactions": contacts,
        "cutoffs": monthly_cutoffs(first=first, last=as_of),
        "window_days": 365,
        "lapsed_days": 90,
        "horizon_months": HORIZON,
        "history_end": as_of,
    }


def _features(world, profile, *, cutoff: date, rivals=None) -> pd.DataFrame:  # noqa: ANN001
    """Provider-months up to ``as_of`` = the day before the cut-off, labels known by then."""
    return provider_months(**_inputs(world, profile, cutoff=cutoff, rivals=rivals))


def evaluate_seed(seed: int, *, ctx, n_boot: int = 1000) -> dict:  # noqa: ANN001
    """One world: the orders' metrics at the cut-off and their paired differences to the model
    (``ctx``: :func:`clinic_context`, where the world's competitor list is loaded)."""
    profile = load_profile("imaging_mri")
    world = generate_world(seed=seed)
    end = pd.Timestamp(world.end) + timedelta(days=1)
    cutoff = (end - pd.DateOffset(months=HORIZON)).date().replace(day=1)
    as_of = cutoff - timedelta(days=1)
    rivals = competitor_minutes(ctx, world)
    frame = _features(world, profile, cutoff=cutoff, rivals=rivals)
    model = fit_model(frame, service_line="MRI", version=1, as_of=as_of, horizon_months=HORIZON,
                      fitted_at=pd.Timestamp.now().to_pydatetime())  # fmt: skip
    test = frame[frame["cutoff"] == as_of].reset_index(drop=True)
    truth = started_within(world, cutoff=cutoff, horizon_months=HORIZON)
    oracle = oracle_start_probability(world, cutoff=cutoff, horizon_months=HORIZON)
    test = test[test["provider_id"].isin(truth.index)].reset_index(drop=True)
    points = profile_scores(test, profile, fallback=Fallback())
    weight = blend_weight(starts=model.starts, prior_starts=PRIOR_STARTS)
    served = learned_scores(model, test, prior=prior_logit(points, base_rate=BASE_RATE,
                                                           slope=SLOPE),
                            weight=weight, explain=False)  # fmt: skip
    oracle_p = oracle.set_index("provider_id")["probability"].reindex(test["provider_id"])
    orders = {
        "model": served["probability"].to_numpy(),
        "oracle": oracle_p.to_numpy(float),
        "distance only": -test["drive_minutes"].to_numpy(float),
        "specialty prior": test["specialty_fit"].to_numpy(float),
        "profile": points,
    }
    labels = truth.reindex(test["provider_id"]).to_numpy(bool)
    table = compare_orders(labels, orders, reference="model", n_boot=n_boot, seed=seed,
                           probabilities={k: orders[k] for k in ("model", "oracle")})  # fmt: skip
    bins = calibration_bins(labels, orders["model"], bins=10, min_count=200)
    return {
        "seed": seed,
        "calibration_bins_within": int(bins["within_interval"].sum()),
        "calibration_bins": len(bins),
        "mean_predicted": round(float(orders["model"].mean()), 4),
        "observed_rate": round(float(labels.mean()), 4),
        "prospects": len(test),
        "starts": int(labels.sum()),
        "train_rows": model.rows,
        "train_starts": model.starts,
        "weight": round(weight, 3),
        "competition": model.competition,
        "competitor_minutes_estimated": round(float(rivals[1].mean()), 3),
        "table": table.to_dict("records"),
    }


def _value(table: list[dict], order: str, metric: str, key: str = "value") -> float:
    return next(r[key] for r in table if r["order"] == order and r["metric"] == metric)


def verdicts(results: list[dict]) -> dict:
    """Issue 19's targets per seed: AUC gap to the oracle, p@50 ratio, beats each baseline."""
    out = {}
    for r in results:
        t = r["table"]
        auc_m, auc_o = _value(t, "model", "auc"), _value(t, "oracle", "auc")
        p_m, p_o = _value(t, "model", "p@50"), _value(t, "oracle", "p@50")
        beats = {}
        for base in ("distance only", "specialty prior", "profile"):
            # the table holds base - model; the model beats it when that interval is below 0
            beats[base] = {
                m: {
                    "model_minus_base": -_value(t, base, m, "difference"),
                    "ci": [-_value(t, base, m, "ci_high"), -_value(t, base, m, "ci_low")],
                    "above_0": _value(t, base, m, "ci_high") < 0,
                }
                for m in ("auc", "p@50")
            }
        out[r["seed"]] = {
            "calibration": f"{r['calibration_bins_within']}/{r['calibration_bins']} bins within"
            f" 95% (mean {r['mean_predicted']} vs observed {r['observed_rate']})",
            "auc_model": auc_m,
            "auc_oracle": auc_o,
            "auc_gap": round(auc_o - auc_m, 4),
            "auc_within_0.02": auc_o - auc_m <= 0.02,
            "p50_model": p_m,
            "p50_oracle": p_o,
            "p50_ratio": round(p_m / p_o, 3) if p_o else None,
            "p50_at_least_85pct": p_m >= 0.85 * p_o,
            "beats": beats,
        }
    return out


def timing(rows: int, *, seed: int = 1) -> dict:
    """Feature build and fit on about ``rows`` provider-months, beside plain LogisticRegression."""
    from sklearn.linear_model import LogisticRegression

    base = load_params()
    per_provider = 7.5  # provider-months per provider drawn, measured on the default world
    world_params = dataclasses.replace(
        base, world=dataclasses.replace(base.world, providers=int(rows / per_provider))
    )
    world = generate_world(seed=seed, params=world_params)
    profile = load_profile("imaging_mri")
    end = pd.Timestamp(world.end) + timedelta(days=1)
    cutoff = (end - pd.DateOffset(months=HORIZON)).date().replace(day=1)
    inputs = _inputs(world, profile, cutoff=cutoff)  # linking the free text is not timed
    started = time.perf_counter()
    frame = provider_months(**inputs)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    model = fit_model(frame, service_line="MRI", version=1, as_of=cutoff, horizon_months=HORIZON,
                      fitted_at=pd.Timestamp.now().to_pydatetime())  # fmt: skip
    fit_s = time.perf_counter() - started
    # the same matrix as the fit's: every provider-month whose next month is known
    labelled = frame[frame[LABEL].notna()]
    x, _, _ = design_matrix(
        labelled, classes=model.classes, fills=model.fills, competition=model.competition
    )
    started = time.perf_counter()
    LogisticRegression().fit(x, labelled[LABEL].to_numpy(float).astype(bool))
    plain_s = time.perf_counter() - started
    return {
        "provider_months": len(frame),
        "labelled_rows": len(labelled),
        "feature_build_s": round(build_s, 2),
        "fit_s": round(fit_s, 2),
        "plain_logistic_regression_s": round(plain_s, 2),
        "fit_over_plain": round(fit_s / plain_s, 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--timing-rows", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    report: dict = {}
    if args.seeds:
        with clinic_context() as ctx:
            results = [evaluate_seed(s, ctx=ctx, n_boot=args.boot) for s in args.seeds]
        report["seeds"] = results
        report["verdicts"] = verdicts(results)
        for seed, v in report["verdicts"].items():
            beats = ", ".join(
                f"{b}: AUC {x['auc']['model_minus_base']:+.3f} "
                f"[{x['auc']['ci'][0]:+.3f}, {x['auc']['ci'][1]:+.3f}]"
                for b, x in v["beats"].items()
            )
            print(f"seed {seed}: AUC model {v['auc_model']:.4f} oracle {v['auc_oracle']:.4f}"
                  f" (gap {v['auc_gap']:+.4f}); p@50 {v['p50_model']:.2f} vs oracle"
                  f" {v['p50_oracle']:.2f} (ratio {v['p50_ratio']}); {beats};"
                  f" calibration {v['calibration']}")  # fmt: skip
    if args.timing_rows:
        report["timing"] = timing(args.timing_rows)
        print(json.dumps(report["timing"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
