"""The referral world's population, travel model and monthly simulation.

Used by :mod:`bench.referral_world` (the public API); imports only the standard
library, NumPy and pandas. Random streams: the population and the travel noise come
from ``default_rng([seed, 1])`` and ``[seed, 2]``; month ``t`` of the simulation
(``t < 0`` is burn-in, ``0`` the history's first month) draws from
``[seed, 11, t + 100000]`` (starts, referral counts, churn), ``[seed, 12, ...]``
(the days and sites of its referrals) and ``[seed, 13, ...]`` (the liaisons'
contacts); :mod:`bench.referral_world` writes month ``t``'s referrers from
``[seed, 14, t]`` and the files from ``[seed, 3]``. So what happens up to a month
never depends on how many months are simulated after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from bench.referral_world_params import HazardSection, WorldParams

__all__ = [
    "NEVER",
    "Latent",
    "Population",
    "contact_counts",
    "distance_term",
    "draw_population",
    "drive_minutes",
    "dynamic_logit",
    "month_start",
    "simulate",
]

#: ``last_ref`` of a provider who never referred.
NEVER = -1_000_000
_OFFSET = 100_000  # month t's stream key is t + _OFFSET (keys must be non-negative)
KINDS = ("visit", "call", "email")


def month_start(start: date, t: int) -> date:
    """The first day of month ``t`` counted from ``start``'s month (``t`` may be negative)."""
    k = start.year * 12 + start.month - 1 + t
    return date(k // 12, k % 12 + 1, 1)


def month_index(start: date, ordinals: np.ndarray) -> np.ndarray:
    """Month number (as in :func:`month_start`) of each date given as an ordinal."""
    years = np.array([date.fromordinal(int(o)).year for o in ordinals], dtype=np.int64)
    months = np.array([date.fromordinal(int(o)).month for o in ordinals], dtype=np.int64)
    return (years - start.year) * 12 + months - start.month


def _km_xy(lat: np.ndarray, lon: np.ndarray, center: tuple[float, float]) -> np.ndarray:
    """Local plane coordinates in km (equirectangular; fine across a metro)."""
    lat0, lon0 = center
    x = (np.asarray(lon) - lon0) * 111.32 * np.cos(np.radians(lat0))
    y = (np.asarray(lat) - lat0) * 110.57
    return np.stack([x, y], axis=-1)


def _km_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Straight-line km between every point of ``a`` (n, 2) and of ``b`` (k, 2): (n, k)."""
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def drive_minutes(
    p: WorldParams, km: np.ndarray, noise: np.ndarray, terminal: np.ndarray
) -> np.ndarray:
    """Drive minutes from straight-line km: km x circuity / speed(km) + terminal minutes.

    Circuity is ``circuity x exp(circuity_sd x noise)``, plus ``circuity_short_extra``
    under 2 km; the speed rises from ``speed_near_kmh`` to ``speed_far_kmh`` with the
    distance (``1 - exp(-km / speed_scale_km)``); ``terminal`` (one value a provider)
    is added to every trip.
    """
    t = p.travel
    circ = t.circuity * np.exp(t.circuity_sd * noise) + np.where(
        km < 2.0, t.circuity_short_extra, 0
    )
    speed = t.speed_near_kmh + (t.speed_far_kmh - t.speed_near_kmh) * (
        1 - np.exp(-km / t.speed_scale_km)
    )
    return km * circ / speed * 60.0 + terminal[:, None]


def distance_term(h: HazardSection, minutes: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """The logit's distance decay: nearly flat up to ``distance_flat_min``, then steep, then a floor.

    ``-floor x (1 - exp(-max(min - flat, 0) / (scale x tolerance))) - slope_near x min(min, flat)``;
    a specialty's ``tolerance`` stretches the decay (surgeons travel further than GPs).
    """
    over = np.maximum(minutes - h.distance_flat_min, 0.0)
    far = -h.distance_floor * (1 - np.exp(-over / (h.distance_scale_min * tolerance)))
    return far - h.distance_slope_near * np.minimum(minutes, h.distance_flat_min)


@dataclass(frozen=True)
class Population:
    """The providers (frame) and the per-row arrays the simulation reads.

    Row ``i`` of every array is the provider whose ``provider_id`` is ``i + 1``.

    ``static_logit`` holds the terms that never change: baseline, specialty,
    distance (with its specialty interaction), practice size, nearest competitor
    and the practice random effect.
    """

    providers: pd.DataFrame
    drive: np.ndarray  # (n, sites) minutes
    group: np.ndarray
    entity: np.ndarray
    practice: np.ndarray
    enum_month: np.ndarray
    static_logit: np.ndarray
    perceived: np.ndarray  # a liaison's idea of fit (specialty + distance)
    volume: np.ndarray
    site_cum: np.ndarray  # (n, sites) cumulative site-choice probabilities
    liaison: np.ndarray


def _npis(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct NPIs starting with 1, each with its Luhn check digit (prefix 80840)."""
    base = np.unique(100_000_000 + rng.integers(0, 100_000_000, size=2 * n + 100))
    base = rng.permutation(base)[:n]
    digits = (base[:, None] // 10 ** np.arange(8, -1, -1)) % 10  # d1..d9, left to right
    doubled = digits[:, ::2] * 2  # d1, d3 .. d9: doubled (rightmost of the 9 is doubled)
    total = 24 + (doubled // 10 + doubled % 10).sum(axis=1) + digits[:, 1::2].sum(axis=1)
    check = (10 - total % 10) % 10
    return np.array([f"{b}{c}" for b, c in zip(base.tolist(), check.tolist())], dtype=object)


def _pick(rng: np.random.Generator, options: tuple, weights: np.ndarray | None, n: int) -> list:
    idx = rng.choice(len(options), size=n, p=weights)
    return [options[i] for i in idx.tolist()]


def draw_population(p: WorldParams, seed: int) -> Population:
    """Practices, providers, their places, NPIs, dates and static hazard terms.

    Individuals are grouped into practices of 1..``size_max`` members
    (P(size) proportional to ``size ** -size_exponent``) placed on medical campuses
    or scattered around ZIP centroids; some practices also hold an organisation NPI
    (entity type 2) that never refers by name.
    """
    rng = np.random.default_rng([seed, 1])
    w, g, pr, h = p.world, p.geo, p.practices, p.hazard
    n_ind = w.providers
    # practices
    k = np.arange(1, pr.size_max + 1)
    pk = k ** -float(pr.size_exponent)
    sizes = rng.choice(k, size=n_ind, p=pk / pk.sum())
    cum = np.cumsum(sizes)
    n_pr = int(np.searchsorted(cum, n_ind)) + 1
    sizes = sizes[:n_pr].copy()
    sizes[-1] -= int(cum[n_pr - 1]) - n_ind
    zlat = np.array([z[2] for z in g.zips])
    zlon = np.array([z[3] for z in g.zips])
    zxy = _km_xy(zlat, zlon, g.center)
    zw = np.exp(-np.hypot(zxy[:, 0], zxy[:, 1]) / g.zip_decay_km)
    zw /= zw.sum()
    hubs = rng.choice(len(g.zips), size=min(g.hubs, len(g.zips)), replace=False, p=zw)
    on_hub = rng.random(n_pr) < g.hub_share
    anchor = np.where(
        on_hub, hubs[rng.integers(0, len(hubs), n_pr)], rng.choice(len(g.zips), n_pr, p=zw)
    )
    pxy = (
        zxy[anchor]
        + rng.normal(size=(n_pr, 2)) * np.where(on_hub, g.hub_sd_km, g.zip_sd_km)[:, None]
    )
    p_zip = _km_between(pxy, zxy).argmin(axis=1)
    p_lat = g.center[0] + pxy[:, 1] / 110.57
    p_lon = g.center[1] + pxy[:, 0] / (111.32 * np.cos(np.radians(g.center[0])))
    p_line1 = [
        f"{n} {s}"
        for n, s in zip(rng.integers(100, 9900, n_pr).tolist(), _pick(rng, g.streets, None, n_pr))
    ]
    p_suite = np.where(
        (sizes > 1) & (rng.random(n_pr) < 0.7), rng.integers(100, 500, n_pr).astype(str), ""
    )
    p_phone = [f"614{v:07d}" for v in rng.integers(2_000_000, 9_999_999, n_pr).tolist()]
    specs = p.specialties
    shares = np.array([s.share for s in specs])
    shares = shares / shares.sum()
    p_main = rng.choice(len(specs), n_pr, p=shares)
    p_effect = rng.normal(0.0, h.practice_sd, n_pr)
    # individuals
    practice = np.repeat(np.arange(n_pr), sizes)
    own = rng.random(n_ind) < pr.main_group_share
    group = np.where(own, p_main[practice], rng.choice(len(specs), n_ind, p=shares))
    female = rng.random(n_ind) < 0.5
    first = np.where(
        female, _pick(rng, p.names.female, None, n_ind), _pick(rng, p.names.male, None, n_ind)
    )
    last = np.array(_pick(rng, p.names.last, None, n_ind), dtype=object)
    letters = np.array(list("ABCDEFGHJKLMNPRSTW"), dtype=object)
    middle = np.where(rng.random(n_ind) < 0.75, letters[rng.integers(0, len(letters), n_ind)], "")
    cred = np.empty(n_ind, dtype=object)
    code = np.empty(n_ind, dtype=object)
    klass = np.empty(n_ind, dtype=object)
    for gi, s in enumerate(specs):
        rows = np.flatnonzero(group == gi)
        cred[rows] = _pick(rng, s.credentials, None, len(rows))
        cw = np.array([c[2] for c in s.codes], dtype=float)
        picks = _pick(rng, s.codes, cw / cw.sum(), len(rows))
        code[rows] = [c[0] for c in picks]
        klass[rows] = [c[1] for c in picks]
    # organisation NPIs of some larger practices
    has_org = (sizes >= pr.organisation_npi_min_size) & (
        rng.random(n_pr) < pr.organisation_npi_share
    )
    org_pr = np.flatnonzero(has_org)
    ow = np.array([c[2] for c in p.organisations.codes], dtype=float)
    org_codes = _pick(rng, p.organisations.codes, ow / ow.sum(), len(org_pr))
    founder = np.searchsorted(practice, np.arange(n_pr))  # a practice's first member
    suffix = _pick(rng, p.organisations.suffixes, None, n_pr)
    p_name = [f"{last[founder[i]]} {suffix[i]}".upper() for i in range(n_pr)]
    n = n_ind + len(org_pr)
    practice = np.concatenate([practice, org_pr])
    group = np.concatenate([group, np.full(len(org_pr), len(specs))])
    entity = np.concatenate([np.ones(n_ind, np.int64), np.full(len(org_pr), 2)])
    blank = np.full(len(org_pr), "", dtype=object)
    first, middle, last, cred = (np.concatenate([a, blank]) for a in (first, middle, last, cred))
    code = np.concatenate([code, [c[0] for c in org_codes]])
    klass = np.concatenate([klass, [c[1] for c in org_codes]])
    sex = np.concatenate([np.where(female, "F", "M"), blank])
    # dates: established NPIs before the history, some enrolling during the window
    hs = w.history_start.toordinal()
    window = month_start(w.history_start, w.enrolment_window_months).toordinal() - hs
    lo = w.first_enumeration.toordinal()
    new = (entity == 1) & (rng.random(n) < w.new_enrolment_share)
    legacy = rng.random(n) < w.legacy_enumeration_share
    est = lo + (rng.random(n) * (hs - lo)).astype(np.int64)
    enum = np.where(new, hs + (rng.random(n) * window).astype(np.int64), np.where(legacy, lo, est))
    npi = _npis(rng, n)
    # referral volume, NPI-writing habit, reported size
    size = sizes[practice]
    rate = np.array([s.rate for s in specs] + [0.0])[group]
    vsd = p.referrals.volume_sd
    volume = rate * size**p.referrals.size_volume * np.exp(rng.normal(-vsd * vsd / 2, vsd, n))
    m = p.referrals.npi_blank_share
    blank_share = rng.beta(4 * m, 4 * (1 - m), n)
    u = rng.random(n)
    noisy = np.maximum(1, np.round(size * np.exp(rng.normal(0, pr.reported_error_sd, n))))
    off = np.where((rng.random(n) < 0.5) & (size > 1), -1, 1)
    noisy = np.where(noisy == size, size + off, noisy)  # the noisy ones are all wrong
    reported = np.where(
        u < pr.reported_exact_share,
        size.astype(float),
        np.where(u < pr.reported_exact_share + pr.reported_missing_share, np.nan, noisy),
    )
    terminal = rng.uniform(*p.travel.terminal_min, n)
    # travel (its own stream)
    rng2 = np.random.default_rng([seed, 2])
    xy = pxy[practice]
    sxy = _km_xy(np.array([s.lat for s in p.sites]), np.array([s.lon for s in p.sites]), g.center)
    drive = drive_minutes(
        p, _km_between(xy, sxy), rng2.standard_normal((n, len(p.sites))), terminal
    )
    cxy = _km_xy(
        np.array([c.lat for c in p.competitors]), np.array([c.lon for c in p.competitors]), g.center
    )
    comp_km = _km_between(xy, cxy).min(axis=1)
    nearest = drive.min(axis=1)
    tol = np.array([s.tolerance for s in specs] + [1.0])[group]
    effect = np.array([s.effect for s in specs] + [p.organisations.effect])[group]
    perceived = effect + distance_term(h, nearest, tol)
    static_logit = (
        h.baseline
        + perceived
        + h.size_log * np.log(size)
        - h.competitor * np.exp(-comp_km / h.competitor_km)
        + p_effect[practice]
    )
    sp = np.exp(-(drive - nearest[:, None]) / p.referrals.site_temperature_min)
    site_cum = np.cumsum(sp / sp.sum(axis=1, keepdims=True), axis=1)
    zips, cities = [z[0] for z in g.zips], [z[1] for z in g.zips]
    providers = pd.DataFrame(
        {
            "npi": npi,
            "entity_type": entity,
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "organization_name": [p_name[i] for i in practice.tolist()],
            "credential": cred,
            "sex": sex,
            "taxonomy_code": code,
            "classification": klass,
            "specialty_group": [
                (specs[i].name if i < len(specs) else "organisation") for i in group.tolist()
            ],
            "lat": p_lat[practice],
            "lon": p_lon[practice],
            "practice_id": practice + 1,
            "organization_id": practice + 1,
            "practice_size": size,
            "practice_size_reported": pd.array(reported, dtype="Float64").astype("Int64"),
            "enumeration_date": pd.to_datetime([date.fromordinal(int(o)) for o in enum]),
            "address_1": [p_line1[i] for i in practice.tolist()],
            "address_2": np.where(p_suite[practice] == "", "", "STE " + p_suite[practice]),
            "city": [cities[i] for i in p_zip[practice].tolist()],
            "state": g.state,
            "zip": [zips[i] for i in p_zip[practice].tolist()],
            "phone": [p_phone[i] for i in practice.tolist()],
            "practice_effect": p_effect[practice],
            "referral_rate": volume,
            "npi_blank_share": blank_share,
        }
    )
    # rows in a random order, provider_id = row + 1 (ids do not follow practices)
    perm = rng.permutation(n)
    providers = providers.iloc[perm].reset_index(drop=True)
    providers.insert(0, "provider_id", np.arange(1, n + 1))
    return Population(
        providers=providers,
        drive=drive[perm],
        group=group[perm],
        entity=entity[perm],
        practice=practice[perm],
        enum_month=month_index(w.history_start, enum)[perm],
        static_logit=static_logit[perm],
        perceived=perceived[perm],
        volume=volume[perm],
        site_cum=site_cum[perm],
        liaison=(drive.argmin(axis=1) % len(p.liaisons.names))[perm],
    )


def contact_counts(
    n: int, contacts: tuple[np.ndarray, np.ndarray, np.ndarray], *, at: int, before: int
) -> np.ndarray:
    """Contacts of each row in the 30 days before ordinal ``at`` and in days 31-90 before it.

    Only contacts dated before ordinal ``before`` count (the oracle's cutoff; the
    simulation passes ``before=at``). Columns: visit 30, visit 90, call 30, call 90,
    email 30, email 90.
    """
    rows, days, kinds = contacts
    age = at - days
    keep = (days < min(at, before)) & (age <= 90)
    col = kinds * 2 + (age > 30)
    out = np.zeros((n, 6))
    np.add.at(out, (rows[keep], col[keep]), 1.0)
    return out


def dynamic_logit(
    h: HazardSection,
    pop: Population,
    *,
    month: int,
    last_ref: np.ndarray,
    colleagues: np.ndarray,
    contacts: np.ndarray,
) -> np.ndarray:
    """The monthly logit of starting to refer in ``month`` (see :func:`simulate`)."""
    x = pop.static_logit + h.colleagues * np.log2(1.0 + colleagues)
    since = (month - last_ref).astype(float)
    x = x + np.where(last_ref > NEVER, h.past * np.exp(-(since - 1.0) / h.past_decay_months), 0.0)
    x = x + np.where(month - pop.enum_month <= h.new_enrolment_months, h.new_enrolment, 0.0)
    beta = np.array([h.visit_30, h.visit_90, h.call_30, h.call_90, h.email_30, h.email_90])
    return x + np.log2(1.0 + contacts) @ beta


def colleague_count(pop: Population, last_ref: np.ndarray, month: int, months: int) -> np.ndarray:
    """Other members of each row's practice who referred in the ``months`` before ``month``."""
    recent = (last_ref >= month - months) & (last_ref > NEVER)
    per = np.bincount(pop.practice, weights=recent, minlength=pop.practice.max() + 1)
    return per[pop.practice] - recent


@dataclass(frozen=True)
class Latent:
    """What the simulation knew at the start of every history month (rows of the population).

    ``active[t]``, ``last_ref[t]`` (month of the last referral, :data:`NEVER` if
    none) and ``colleagues[t]`` are as at the first day of history month ``t``;
    ``hazard[t]`` is that month's start probability, ``starts[t]`` who started;
    ``contacts`` are every liaison contact since the burn-in began (row, date ordinal,
    kind 0/1/2 = visit/call/email).
    """

    pop: Population
    active: np.ndarray
    last_ref: np.ndarray
    colleagues: np.ndarray
    hazard: np.ndarray
    present: np.ndarray
    starts: np.ndarray
    contacts: tuple[np.ndarray, np.ndarray, np.ndarray]


def _contacts(
    p: WorldParams,
    pop: Population,
    rng: np.random.Generator,
    *,
    ok: np.ndarray,
    lapsed: np.ndarray,
    free: np.ndarray,
    first: int,
    days: int,
) -> tuple[np.ndarray, ...]:
    """One month of liaison contacts: part targeted by perceived fit, part at random."""
    lp = p.liaisons
    cand = np.flatnonzero(free)
    everyone = np.flatnonzero(ok)
    score = lp.targeting_temperature * (pop.perceived[cand] + 1.5 * lapsed[cand])
    wt = np.exp(score - score.max()) if len(cand) else score
    out = []
    for kind, mean in enumerate((lp.visits, lp.calls, lp.emails)):
        k = int(rng.poisson(mean)) if len(everyone) else 0
        targeted = rng.random(k) < lp.targeted_share
        pick_r = rng.choice(everyone, size=k) if k else everyone[:0]
        pick_t = rng.choice(cand, size=k, p=wt / wt.sum()) if k and len(cand) else pick_r
        rows = np.where(targeted, pick_t, pick_r)
        day = first + rng.integers(0, days, k)
        note = rng.integers(0, 1000, k)
        out.append((rows, day, np.full(k, kind), note))
    return tuple(np.concatenate([o[i] for o in out]) for i in range(4))


def simulate(
    p: WorldParams, pop: Population, seed: int
) -> tuple[Latent, pd.DataFrame, pd.DataFrame]:
    """Run the burn-in and the history a month at a time.

    Each month ``t``, every provider enrolled before it and not an active referrer
    starts referring with probability ``sigmoid(logit)``: the static terms plus
    colleagues who referred in the last ``colleague_months`` months, the decaying
    effect of a past (lapsed) referral, a recent enrolment, and the liaisons'
    visits, calls and emails in the 30 and 31-90 days before the month began. A
    starter makes 1 + Poisson(rate / 2) referrals that month, an active referrer
    Poisson(rate); every active referrer then stops with probability ``churn``.
    The liaisons' contacts of month ``t`` are chosen from the state at its start and
    count from month ``t + 1``.

    Returns
    -------
    tuple
        The :class:`Latent` state, the referral events of the history (``row``,
        ``month``, ``day`` ordinal, ``site``) and its contacts (``row``, ``day``,
        ``kind``, ``note`` draw, ``month``).
    """
    w, h = p.world, p.hazard
    n, hm = len(pop.group), w.history_months
    active = np.zeros(n, bool)
    last_ref = np.full(n, NEVER, np.int64)
    rec = {k: [] for k in ("active", "last_ref", "colleagues", "hazard", "present", "starts")}
    contacts: list[tuple[np.ndarray, ...]] = []
    events = []
    for t in range(-w.burn_in_months, hm):
        first = month_start(w.history_start, t).toordinal()
        days = month_start(w.history_start, t + 1).toordinal() - first
        rng = np.random.default_rng([seed, 11, t + _OFFSET])
        present = pop.enum_month < t
        recent = contacts[-4:]
        window = tuple(
            np.concatenate([c[i] for c in recent]) if recent else np.zeros(0, np.int64)
            for i in range(3)
        )
        counts = contact_counts(n, window, at=first, before=first)
        coll = colleague_count(pop, last_ref, t, h.colleague_months)
        x = dynamic_logit(h, pop, month=t, last_ref=last_ref, colleagues=coll, contacts=counts)
        hazard = 1.0 / (1.0 + np.exp(-x))
        start = present & (pop.entity == 1) & ~active & (rng.random(n) < hazard)
        if t >= 0:
            for key, val in (
                ("active", active),
                ("last_ref", last_ref),
                ("colleagues", coll),
                ("hazard", np.where(present, hazard, np.nan)),
                ("present", present),
                ("starts", start),
            ):
                rec[key].append(val.copy())
        lapsed = (last_ref > NEVER) & ~active
        ok = present & (pop.entity == 1)
        crng = np.random.default_rng([seed, 13, t + _OFFSET])
        month_contacts = _contacts(
            p, pop, crng, ok=ok, lapsed=lapsed, free=ok & ~active, first=first, days=days
        )
        count = np.where(active, rng.poisson(pop.volume), 0)
        count = np.where(start, 1 + rng.poisson(pop.volume / 2), count)
        active = active | start
        last_ref = np.where(count > 0, t, last_ref)
        active = active & ~(rng.random(n) < p.referrals.churn)
        contacts.append((*month_contacts, np.full(len(month_contacts[0]), t)))
        if t >= 0 and count.any():
            erng = np.random.default_rng([seed, 12, t + _OFFSET])
            rows = np.repeat(np.arange(n), count)
            u = erng.random(len(rows))
            site = (u[:, None] > pop.site_cum[rows]).sum(axis=1)
            site = np.minimum(site, pop.site_cum.shape[1] - 1)
            day = first + erng.integers(0, days, len(rows))
            events.append(pd.DataFrame({"row": rows, "month": t, "day": day, "site": site}))
    every = tuple(np.concatenate([c[i] for c in contacts]) for i in range(5))
    latent = Latent(
        pop=pop,
        **{k: np.stack(v) for k, v in rec.items()},
        contacts=(every[0], every[1], every[2]),
    )
    cframe = pd.DataFrame(
        {"row": every[0], "day": every[1], "kind": every[2], "note": every[3], "month": every[4]}
    )
    cframe = cframe[cframe["month"] >= 0].sort_values(["day", "row", "kind"], kind="stable")
    ev = (
        pd.concat(events, ignore_index=True)
        if events
        else pd.DataFrame({"row": [], "month": [], "day": [], "site": []})
    )
    return latent, ev, cframe.reset_index(drop=True)
