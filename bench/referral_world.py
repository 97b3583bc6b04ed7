"""An independent generator of synthetic clinic referral worlds, to judge prospect scoring.

    python -m bench.referral_world --seed 1 2 3        # summary figures per seed
    python -m bench.referral_world --seed 1 --write var/world-1   # and the clinic's files

A world is an imaging clinic (three MRI sites in a metro about 60 km across), the
~6,600 providers around it, and 18 months of history (after a burn-in, so some
doctors already refer when the history begins) in which doctors start referring,
refer, stop and start again. Its behaviour is defined here, from how referrals
plausibly arise, and never from the product's scoring code; this module and its
helpers (:mod:`bench.referral_world_params`, :mod:`bench.referral_world_sim`,
:mod:`bench.referral_world_files`) import only the standard library, NumPy and
pandas (an import-linter contract forbids every product package).

Each month every enrolled provider who is not referring starts with a probability
whose logit adds: a baseline; a specialty effect; a nonlinear decay with the drive
time to the nearest site (nearly flat for 8 minutes, then steep, then a floor)
stretched by a specialty tolerance (surgeons and neurologists travel further than
GPs); an unobserved practice random effect; log practice size; colleagues in the
practice who referred in the last 3 months; liaison visits, calls and emails in the
last 30 and 31-90 days; a past referral (the strongest term, fading with the months
since); a nearby competitor (negative); a recent enrolment. The true hazard of every
provider-month is kept (``World.hazard``), and :func:`oracle_start_probability` turns
it into the best available forecast at a cutoff; :func:`started_within` gives the
labels it is judged against. Parameters: ``bench/referral_world.toml``.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from bench.referral_world_files import referrer_names, write_clinic_files
from bench.referral_world_params import WorldParams, load_params
from bench.referral_world_sim import (
    KINDS,
    Latent,
    contact_counts,
    draw_population,
    dynamic_logit,
    month_start,
    simulate,
)

__all__ = [
    "World",
    "WorldParams",
    "generate_world",
    "load_params",
    "oracle_start_probability",
    "rank_auc",
    "started_within",
    "summary",
    "write_clinic_files",
]

#: A provider with a referral in this many days before a cutoff is an active referrer.
ACTIVE_DAYS = 90


@dataclass(frozen=True, eq=False)
class World:
    """One generated world. Date columns are ``datetime64``; ``end`` is the history's last day.

    Attributes
    ----------
    providers
        One row per NPI enrolled before the history ends: ``provider_id``, ``npi``,
        ``entity_type`` (1 individual, 2 organisation), names, ``credential``,
        ``sex``, ``taxonomy_code``, ``classification``, ``specialty_group``
        (generator-side), ``lat``, ``lon``, ``practice_id`` = ``organization_id``,
        ``practice_size`` (true headcount of individuals), ``practice_size_reported``
        (nullable; right for about a third), ``enumeration_date``, address columns,
        and truth columns ``practice_effect``, ``referral_rate``, ``npi_blank_share``.
    sites, competitors
        ``site_code, name, lat, lon, service_line``; ``name, lat, lon``.
    drive
        ``provider_id, site_code, drive_minutes`` (the generator's travel model).
    hazard
        ``provider_id, month, hazard, at_risk``: the true probability of starting in
        that month (NaN before enrolment); ``at_risk`` when enrolled and not referring.
    referrals
        ``external_id, referral_date, site_code, npi`` ("" when written as a name
        only), ``referrer_name, provider_id_truth``.
    interactions
        ``external_id, date, npi, kind, liaison, note, provider_id_truth``.
    latent
        The simulation's state at each month's start, for the oracle.
    """

    seed: int
    params: WorldParams
    start: date
    end: date
    providers: pd.DataFrame
    sites: pd.DataFrame
    drive: pd.DataFrame
    competitors: pd.DataFrame
    hazard: pd.DataFrame
    referrals: pd.DataFrame
    interactions: pd.DataFrame
    latent: Latent = field(repr=False, compare=False)


def _referrals(p: WorldParams, seed: int, latent: Latent, events: pd.DataFrame) -> pd.DataFrame:
    pv = latent.pop.providers
    rows = events["row"].to_numpy()
    labels = {s.name: s.labels for s in p.specialties}
    out = []
    for t, ev in events.groupby("month", sort=True):
        rng = np.random.default_rng([seed, 14, int(t)])
        ev = ev.sort_values(["day", "row"], kind="stable")
        r = ev["row"].to_numpy()
        sub = pv.iloc[r]
        label = [
            ls[i % len(ls)]
            for ls, i in zip(
                (labels[g] for g in sub["specialty_group"]), rng.integers(0, 99, len(r)).tolist()
            )
        ]
        blank = rng.random(len(r)) < sub["npi_blank_share"].to_numpy()
        first = month_start(p.world.history_start, int(t))
        out.append(
            pd.DataFrame(
                {
                    "external_id": [f"R{first:%Y%m}-{k:05d}" for k in range(1, len(r) + 1)],
                    "referral_date": [date.fromordinal(int(d)) for d in ev["day"]],
                    "site_code": [p.sites[int(s)].code for s in ev["site"]],
                    "npi": np.where(blank, "", sub["npi"].to_numpy()),
                    "referrer_name": referrer_names(
                        rng,
                        first=sub["first_name"].tolist(),
                        middle=sub["middle_name"].tolist(),
                        last=sub["last_name"].tolist(),
                        credential=sub["credential"].tolist(),
                        label=label,
                        city=sub["city"].tolist(),
                        typo_share=p.referrals.typo_share,
                    ),
                    "provider_id_truth": r + 1,
                }
            )
        )
    if not out:
        cols = ["external_id", "referral_date", "site_code", "npi", "referrer_name"]
        return pd.DataFrame({**{c: [] for c in cols}, "provider_id_truth": rows[:0]})
    frame = pd.concat(out, ignore_index=True)
    frame["referral_date"] = pd.to_datetime(frame["referral_date"])
    return frame


def _interactions(p: WorldParams, latent: Latent, contacts: pd.DataFrame) -> pd.DataFrame:
    pv = latent.pop.providers
    rows = contacts["row"].to_numpy()
    kinds = contacts["kind"].to_numpy()
    notes = {k: getattr(p.notes, k) for k in KINDS}
    seq = contacts.groupby("month").cumcount().to_numpy() + 1
    when = [date.fromordinal(int(d)) for d in contacts["day"]]
    return pd.DataFrame(
        {
            "external_id": [f"I{d:%Y%m}-{k:04d}" for d, k in zip(when, seq.tolist())],
            "date": pd.to_datetime(when),
            "npi": pv["npi"].to_numpy()[rows],
            "kind": [KINDS[k] for k in kinds],
            "liaison": [p.liaisons.names[i] for i in latent.pop.liaison[rows]],
            "note": [
                notes[KINDS[k]][n % len(notes[KINDS[k]])]
                for k, n in zip(kinds.tolist(), contacts["note"].tolist())
            ],
            "provider_id_truth": rows + 1,
        }
    )


def generate_world(*, seed: int, params: WorldParams | None = None) -> World:
    """Generate a world.

    Parameters
    ----------
    seed
        Everything is a function of the seed and the parameters; the months up
        to any date do not depend on how many months are simulated after it.
    params
        ``None`` reads ``bench/referral_world.toml`` (:func:`load_params`).

    Returns
    -------
    World
        The frames, the history's first and last day and the latent state.
    """
    p = params or load_params()
    w = p.world
    pop = draw_population(p, seed)
    latent, events, contacts = simulate(p, pop, seed)
    hm = w.history_months
    keep = pop.enum_month < hm  # enrolled before the history ends
    providers = pop.providers[keep].reset_index(drop=True)
    ids = providers["provider_id"].to_numpy()
    codes = [s.code for s in p.sites]
    drive = pd.DataFrame(
        {
            "provider_id": np.repeat(ids, len(codes)),
            "site_code": np.tile(codes, len(ids)),
            "drive_minutes": pop.drive[keep].ravel().round(2),
        }
    )
    months = pd.to_datetime([month_start(w.history_start, t) for t in range(hm)])
    at_risk = latent.present & ~latent.active & (pop.entity == 1)
    hazard = pd.DataFrame(
        {
            "provider_id": np.tile(ids, hm),
            "month": np.repeat(months, len(ids)),
            "hazard": latent.hazard[:, keep].ravel(),
            "at_risk": at_risk[:, keep].ravel(),
        }
    )
    sites = pd.DataFrame(
        {
            "site_code": codes,
            "name": [s.name for s in p.sites],
            "lat": [s.lat for s in p.sites],
            "lon": [s.lon for s in p.sites],
            "service_line": "MRI",
        }
    )
    competitors = pd.DataFrame(
        {
            "name": [c.name for c in p.competitors],
            "lat": [c.lat for c in p.competitors],
            "lon": [c.lon for c in p.competitors],
        }
    )
    return World(
        seed=seed,
        params=p,
        start=w.history_start,
        end=month_start(w.history_start, hm) - timedelta(days=1),
        providers=providers,
        sites=sites,
        drive=drive,
        competitors=competitors,
        hazard=hazard,
        referrals=_referrals(p, seed, latent, events),
        interactions=_interactions(p, latent, contacts),
        latent=latent,
    )


def _cutoff_month(world: World, cutoff: date) -> int:
    """History month index of a cutoff on the first of a month, at least 3 months in."""
    start = world.start
    k = (cutoff.year - start.year) * 12 + cutoff.month - start.month
    if cutoff.day != 1 or not 3 <= k < world.params.world.history_months:
        raise ValueError(
            f"cutoff {cutoff} must be the first day of a month from the history's 4th "
            f"({month_start(start, 3)}) to its last ({month_start(start, world.params.world.history_months - 1)})"
        )
    return k


def _prospects(world: World, cutoff: date) -> np.ndarray:
    """Rows of individuals enrolled before the cutoff with no referral in the 90 days before it."""
    k = _cutoff_month(world, cutoff)
    pop = world.latent.pop
    ref = world.referrals
    when = ref["referral_date"]
    lo, hi = pd.Timestamp(cutoff - timedelta(days=ACTIVE_DAYS)), pd.Timestamp(cutoff)
    recent = ref.loc[(when >= lo) & (when < hi), "provider_id_truth"].to_numpy() - 1
    ok = (pop.enum_month < k) & (pop.entity == 1)
    ok[recent] = False
    return np.flatnonzero(ok)


def oracle_start_probability(world: World, *, cutoff: date, horizon_months: int) -> pd.DataFrame:
    """The true probability that each prospect at ``cutoff`` refers within the horizon.

    Prospects are the individuals enrolled before ``cutoff`` with no referral in the
    90 days before it (as in :func:`started_within`). The forecast conditions on
    everything the simulation knew at the start of the cutoff's month: each
    provider's latent state (a doctor still referring but quiet for 90 days, or
    not referring), the month of their last referral, the practice effect and every
    static term, the colleagues who referred in the 3 months before the cutoff, and
    the liaison contacts dated before the cutoff. Over the horizon it lets the
    known terms age as they would (past referral and contacts fading, enrolment
    growing old) and holds the unknowable ones at their cutoff value: colleagues
    frozen, no new contacts. A non-referring provider starts in month ``m`` with
    the hazard so computed; a still-referring one refers with probability
    ``1 - exp(-rate)`` a month and stops with probability ``churn`` (then may
    start again). Nothing after the cutoff is read.

    Parameters
    ----------
    world
        From :func:`generate_world`.
    cutoff
        First day of a month, at least 3 months into the history, before its end.
    horizon_months
        Months after the cutoff (may reach past the generated history).

    Returns
    -------
    pandas.DataFrame
        ``provider_id``, ``probability`` in [0, 1], one row per prospect.
    """
    if horizon_months < 1:
        raise ValueError("horizon_months must be at least 1")
    k = _cutoff_month(world, cutoff)
    lat, p = world.latent, world.params
    pop = lat.pop
    rows = _prospects(world, cutoff)
    before = cutoff.toordinal()
    n = len(pop.group)
    active = lat.active[k].astype(float)
    idle = 1.0 - active  # P(no referral yet and not referring), P(.. and referring)
    stay = np.exp(-pop.volume)
    for j in range(horizon_months):
        m = k + j
        counts = contact_counts(
            n, lat.contacts, at=month_start(world.start, m).toordinal(), before=before
        )
        x = dynamic_logit(
            p.hazard,
            pop,
            month=m,
            last_ref=lat.last_ref[k],
            colleagues=lat.colleagues[k],
            contacts=counts,
        )
        h = 1.0 / (1.0 + np.exp(-x))
        quiet = active * stay
        active, idle = quiet * (1 - p.referrals.churn), idle * (1 - h) + quiet * p.referrals.churn
    prob = np.clip(1.0 - (active + idle), 0.0, 1.0)
    return pd.DataFrame({"provider_id": rows + 1, "probability": prob[rows]})


def started_within(world: World, *, cutoff: date, horizon_months: int) -> pd.Series:
    """Whether each prospect at ``cutoff`` made a referral within the horizon (ground truth).

    A prospect is an individual enrolled before ``cutoff`` who is not an active
    referrer: no referral in the 90 days before it (a provider who referred in the
    365 days before but not the last 90 is lapsed, hence a prospect). The label is
    a referral dated in ``[cutoff, cutoff + horizon_months)``.

    Returns
    -------
    pandas.Series
        Bool, indexed by ``provider_id``, named ``started``.

    Raises
    ------
    ValueError
        A cutoff not on the first of a month within the history, or a horizon
        reaching past its end.
    """
    k = _cutoff_month(world, cutoff)
    if horizon_months < 1 or k + horizon_months > world.params.world.history_months:
        raise ValueError(f"horizon of {horizon_months} months from {cutoff} leaves the history")
    rows = _prospects(world, cutoff)
    ref = world.referrals
    when = ref["referral_date"]
    hi = pd.Timestamp(month_start(world.start, k + horizon_months))
    hit = ref.loc[(when >= pd.Timestamp(cutoff)) & (when < hi), "provider_id_truth"].unique()
    ids = rows + 1
    return pd.Series(np.isin(ids, hit), index=pd.Index(ids, name="provider_id"), name="started")


def rank_auc(*, scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties take the average rank)."""
    y = np.asarray(labels, dtype=bool)
    ranks = pd.Series(np.asarray(scores, dtype=float)).rank(method="average").to_numpy()
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def summary(world: World, *, horizon_months: int = 6) -> dict[str, float]:
    """Headline figures of a world; the cutoff is ``horizon_months`` before the history ends."""
    lat = world.latent
    ind = world.providers["entity_type"] == 1
    cutoff = month_start(world.start, world.params.world.history_months - horizon_months)
    labels = started_within(world, cutoff=cutoff, horizon_months=horizon_months)
    oracle = oracle_start_probability(world, cutoff=cutoff, horizon_months=horizon_months)
    prob = oracle.set_index("provider_id")["probability"].reindex(labels.index)
    return {
        "providers": int(ind.sum()),
        "organisations": int((~ind).sum()),
        "referrers_at_start": int(lat.active[0].sum()),
        "starts_per_month": float(lat.starts.sum(axis=1).mean()),
        "referrals": len(world.referrals),
        "no_npi_share": float((world.referrals["npi"] == "").mean()),
        "visits": int((world.interactions["kind"] == "visit").sum()),
        "prospects": len(labels),
        "starts_within": int(labels.sum()),
        "base_rate": float(labels.mean()),
        "oracle_mean": float(prob.mean()),
        "oracle_auc": rank_auc(scores=prob.to_numpy(), labels=labels.to_numpy()),
    }


def main(argv: list[str] | None = None) -> None:
    """Print :func:`summary` for each seed (and write the clinic's files with ``--write``)."""
    ap = argparse.ArgumentParser(prog="python -m bench.referral_world")
    ap.add_argument("--seed", type=int, nargs="+", default=[1])
    ap.add_argument("--params", default=None, help="TOML file (default: the committed one)")
    ap.add_argument("--write", default=None, help="directory for the clinic's files")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    for seed in args.seed:
        t0 = time.perf_counter()
        world = generate_world(seed=seed, params=params)
        took = time.perf_counter() - t0
        s = summary(world)
        print(
            f"seed {seed}: {s['providers']:,} providers (+{s['organisations']} orgs), "
            f"{s['referrers_at_start']} referrers at start, "
            f"{s['starts_per_month']:.1f} starts/month, {s['referrals']:,} referrals "
            f"({s['no_npi_share']:.0%} without NPI), {s['visits']} visits; "
            f"6-month cutoff: {s['prospects']:,} prospects, {s['starts_within']} start "
            f"(base rate {s['base_rate']:.2%}, oracle mean {s['oracle_mean']:.2%}), "
            f"oracle AUC {s['oracle_auc']:.3f}; generated in {took:.2f} s",
            flush=True,
        )
        if args.write:
            out = f"{args.write}-{seed}" if len(args.seed) > 1 else args.write
            for name, path in write_clinic_files(world, out).items():
                print(f"  {name}: {path}")


if __name__ == "__main__":
    main()
