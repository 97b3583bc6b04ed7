"""Synthetic referral events: who refers to the clinic, how often, and when.

About 8% of active individual providers refer.  Who does is drawn with a
propensity that falls with straight-line distance to the nearest site and rises
with specialty fit (orthopaedists, sports medicine, neurology refer to an
imaging / orthopaedics clinic far more than dentists).  Volumes are heavy-tailed
and laid out so the default tiers all exist: tier A (>= 24 referrals in the
trailing 365 days), B (>= 6) and C (>= 1).  Some referrers are *lapsed*
(nothing in the last 3 months).  Events go back 13+ months before ``as_of``.
Event dates avoid the few days around each window boundary, so tier counts do
not depend on whether a reader's window is inclusive.

About 30% of events name the referrer only by free text ("Dr. R. Smith"),
concentrated in offices that never write the NPI; the rest carry the NPI.
``patient_ref`` is an opaque random token, never a name.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from demo.names import free_text_name, title_case
from geo.distance import haversine_km
from prospects.terms import tier_of

__all__ = ["choose_referrers", "referral_events"]


def choose_referrers(
    individuals: pd.DataFrame,
    lat: np.ndarray,
    lon: np.ndarray,
    sites: pd.DataFrame,
    rng: np.random.Generator,
    *,
    share: float = 0.08,
    tier_a_min: int = 24,
    tier_b_min: int = 6,
) -> pd.DataFrame:
    """Pick referrers and their volume in the trailing window.

    Parameters
    ----------
    individuals
        Active individuals (one row per person), with ``npi`` and ``fit``.
    lat, lon
        Practice location of each individual.
    sites
        Clinic sites with ``lat``, ``lon``.
    rng
        Seeded generator.
    share
        Share of individuals who refer (at least 12 are chosen).
    tier_a_min, tier_b_min
        Tier thresholds the volumes are laid out around.

    Returns
    -------
    pandas.DataFrame
        ``row`` (position in ``individuals``), ``npi``, ``dist_km`` (to the
        nearest site), ``count_365``, ``older`` (events 12-14 months back),
        ``lapsed`` (bool), ``text_share`` (probability an event has no NPI),
        ``tier``.
    """
    n = len(individuals)
    d = np.column_stack(
        [
            haversine_km(lat, lon, np.full(n, s_lat), np.full(n, s_lon))
            for s_lat, s_lon in zip(sites["lat"].tolist(), sites["lon"].tolist())
        ]
    ).min(axis=1)
    w = individuals["fit"].to_numpy(dtype=float) * np.exp(-d / 4.0) + 1e-4
    m = min(n, max(12, round(n * share)))
    chosen = rng.choice(n, size=m, replace=False, p=w / w.sum())
    # rank by propensity (with noise): the best-placed, best-fitting refer most
    score = np.log(w[chosen]) + rng.normal(0, 0.7, size=m)
    order = np.argsort(-score, kind="stable")
    chosen = chosen[order]
    n_a = max(2, round(m * 0.1))
    n_b = max(3, round(m * 0.3))
    count = np.empty(m, dtype=np.int64)
    count[:n_a] = tier_a_min + 2 + np.minimum((rng.pareto(1.4, n_a) * 18).astype(np.int64), 300)
    count[n_a : n_a + n_b] = tier_b_min + np.minimum(
        (rng.pareto(1.2, n_b) * 4).astype(np.int64), tier_a_min - tier_b_min - 1
    )
    count[n_a + n_b :] = rng.integers(1, tier_b_min, size=m - n_a - n_b)
    lapsed = np.zeros(m, dtype=bool)
    lapsable = np.arange(n_a, m)
    lapsed[rng.choice(lapsable, size=max(2, round(m * 0.12)), replace=False)] = True
    text_office = rng.random(m) < 0.25
    text_office[0] = False  # the top referrer mostly writes the NPI
    text_share = np.where(text_office, 0.6, 0.2)
    older = rng.poisson(count * 0.12)
    return pd.DataFrame(
        {
            "row": chosen,
            "npi": individuals["npi"].to_numpy()[chosen],
            "dist_km": np.round(d[chosen], 3),
            "count_365": count,
            "older": older,
            "lapsed": lapsed,
            "text_share": text_share,
            "tier": tier_of(count, tier_a_min=tier_a_min, tier_b_min=tier_b_min),
        }
    )


def referral_events(
    referrers: pd.DataFrame,
    individuals: pd.DataFrame,
    lat: np.ndarray,
    lon: np.ndarray,
    sites: pd.DataFrame,
    rng: np.random.Generator,
    *,
    as_of: date,
    window_days: int = 365,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Lay out every referrer's events in time and across sites.

    Parameters
    ----------
    referrers
        From :func:`choose_referrers`.
    individuals
        The same frame passed to :func:`choose_referrers` (names, family).
    lat, lon
        Practice locations of ``individuals``.
    sites
        Clinic sites (``site_code``, ``service_line``, ``lat``, ``lon``).
    rng
        Seeded generator.
    as_of
        Date of the newest possible event.
    window_days
        Length of the trailing window the counts refer to.

    Returns
    -------
    events : pandas.DataFrame
        ``referral_date`` (ISO), ``referrer_npi`` ("" for free-text events),
        ``referrer_name``, ``service_line``, ``site_code``, ``patient_ref``,
        sorted by date, NPI and name.  The writer numbers them
        (``external_id``) once the blocks' events are merged in that order.
    truth : pandas.DataFrame
        ``referrers`` plus ``count_365_npi`` (events in the window that carry
        the NPI), ``events_total`` and ``last_date``.
    """
    end = as_of.toordinal()
    start_in, end_in = end - window_days + 5, end  # trailing window, boundary-safe
    start_old, end_old = end - window_days - 55, end - window_days - 5
    lapsed_end = end - 100  # nothing in the last ~3 months
    s_lat, s_lon = sites["lat"].to_numpy(), sites["lon"].to_numpy()
    ortho = sites["service_line"].to_numpy() == "orthopaedics"
    rows = []
    truth_npi, truth_last = [], []
    for r in referrers.itertuples(index=False):
        person = individuals.iloc[r.row]
        hi = lapsed_end if r.lapsed else end_in
        days = np.concatenate(
            [
                rng.integers(start_in, hi + 1, size=r.count_365),
                rng.integers(start_old, end_old + 1, size=r.older),
            ]
        )
        k = len(days)
        ds = haversine_km(
            np.full(len(s_lat), lat[r.row]), np.full(len(s_lon), lon[r.row]), s_lat, s_lon
        )
        pw = np.exp(-ds / 3.0) * np.where(
            ortho, 3.0 if person["family"] in ("msk", "neuro") else 0.6, 1.0
        )
        site = rng.choice(len(sites), size=k, p=pw / pw.sum())
        text = rng.random(k) < r.text_share
        in_window = days >= start_in
        truth_npi.append(int((in_window & ~text).sum()))
        truth_last.append(date.fromordinal(int(days.max())).isoformat())
        formal = f"{title_case(person['last'])}, {title_case(person['first'])}"
        for day, si, tx in zip(days.tolist(), site.tolist(), text.tolist()):
            name = (
                free_text_name(person["first"], person["last"], person["credential"], rng)
                if tx
                else formal
            )
            rows.append((day, "" if tx else r.npi, name, si))
    ev = pd.DataFrame(rows, columns=["day", "referrer_npi", "referrer_name", "site"])
    ev = ev.sort_values(["day", "referrer_npi", "referrer_name"], kind="stable").reset_index(
        drop=True
    )
    tokens = rng.integers(0, 2**62, size=len(ev))
    site = ev["site"].to_numpy()
    events = pd.DataFrame(
        {
            "referral_date": [date.fromordinal(d).isoformat() for d in ev["day"].tolist()],
            "referrer_npi": ev["referrer_npi"].to_numpy(),
            "referrer_name": ev["referrer_name"].to_numpy(),
            "service_line": sites["service_line"].to_numpy()[site],
            "site_code": sites["site_code"].to_numpy()[site],
            "patient_ref": [f"P{t:016x}" for t in tokens.tolist()],
        }
    )
    truth = referrers.assign(
        count_365_npi=truth_npi,
        events_total=referrers["count_365"] + referrers["older"],
        last_date=truth_last,
    )
    return events, truth
