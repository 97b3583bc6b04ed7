"""The synthetic provider population: organisations, individuals and where they practise.

Everything is drawn from one :class:`numpy.random.Generator`, column-wise, so
100,000 providers take seconds.  The structure mirrors how practices appear in
NPPES: organisations (entity type 2) sit at street addresses, often several to
a medical office building in different suites; most individuals (entity type 1)
list their organisation's address, suite and phone, which is how a reader of
the registry infers practice size; some run solo practices.  A few NPIs are
deactivated (with most fields blank, as in real files) and a rare person holds
two NPIs with the same name and address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from demo.addresses import phone_numbers
from demo.name_pools import FEMALE_FIRST, LAST_NAMES, MALE_FIRST, MIDDLE_INITIALS
from demo.npi import draw_npis
from demo.specialties import INDIVIDUAL_SPECIALTIES, ORG_KINDS

__all__ = ["Population", "build_population", "plan_counts"]

PLACES: tuple[str, ...] = (
    "CLINTONVILLE",
    "GERMAN VILLAGE",
    "SHORT NORTH",
    "OLENTANGY",
    "EASTON",
    "NORTHLAND",
    "BEXLEY",
    "GRANDVIEW",
    "HILLTOP",
    "LINDEN",
    "UNIVERSITY",
    "DOWNTOWN",
    "WORTHINGTON",
    "UPPER ARLINGTON",
    "WHITEHALL",
    "BUCKEYE",
    "CAPITAL CITY",
    "CENTRAL OHIO",
    "COLUMBUS",
    "SCIOTO",
    "ALUM CREEK",
    "FRANKLIN",
    "MID-OHIO",
    "OLDE TOWNE",
    "ITALIAN VILLAGE",
    "VICTORIAN VILLAGE",
    "BREWERY DISTRICT",
    "MERION VILLAGE",
    "BERWICK",
    "MARBLE CLIFF",
)
_SOLO_SHARE = {
    "chiro": 0.35,
    "dental": 0.3,
    "pt": 0.1,
    "primary": 0.1,
    "msk": 0.05,
    "neuro": 0.05,
    "cardio": 0.05,
    "obgyn": 0.08,
    "imaging": 0.0,
    "hospital": 0.0,
}
_HOSPITAL_DEPTS = (
    "RADIOLOGY",
    "EMERGENCY MEDICINE",
    "ANESTHESIOLOGY",
    "SURGERY",
    "HOSPITALISTS",
    "ORTHOPEDICS",
    "NEUROSCIENCES",
    "CARDIOLOGY",
)
_HOSPITAL_NAMES = ("RIVERSIDE", "GRANT", "MOUNT CARMEL", "UNIVERSITY", "EAST", "WEST", "NORTHWEST")
_OFFICIAL_TITLES = (
    "PRACTICE MANAGER",
    "OFFICE MANAGER",
    "PRESIDENT",
    "CEO",
    "ADMINISTRATOR",
    "OWNER",
    "DIRECTOR OF OPERATIONS",
    "CFO",
    "MANAGING PARTNER",
)
_MALE_LEANING = {"msk", "neuro"}


@dataclass(frozen=True)
class Population:
    """Providers and organisations, before they are written in any file layout.

    Attributes
    ----------
    orgs
        One row per organisation: ``org_id``, ``npi``, ``name``, ``kind``,
        ``family``, ``building``, ``suite``, ``phone``, ``fax``, ``subpart``,
        ``parent_lbn``.
    individuals
        One row per individual NPI: ``npi``, ``first``, ``middle``, ``last``,
        ``prefix``, ``suffix``, ``credential``, ``sex``, ``spec`` (index into
        :data:`~demo.specialties.INDIVIDUAL_SPECIALTIES`), ``code``,
        ``family``, ``fit``, ``org_id`` (-1 when solo), ``building``,
        ``suite``, ``phone``, ``fax``, ``dup_of`` (NPI of the same person's
        other record, or "").
    deactivated
        ``npi``, ``reason``, ``date``, ``replacement`` for deactivated NPIs.
    """

    orgs: pd.DataFrame
    individuals: pd.DataFrame
    deactivated: pd.DataFrame


def plan_counts(providers: int) -> dict[str, int]:
    """How many rows of each kind ``providers`` NPPES rows hold.

    About 3% deactivated, 0.2% second NPIs of the same person, and of the rest
    12% organisations and 88% individuals.
    """
    if providers < 50:
        raise ValueError(f"providers must be at least 50, got {providers}")
    deact = max(2, round(providers * 0.03))
    dups = max(1, round(providers * 0.002))
    active = providers - deact - dups
    orgs = max(len(ORG_KINDS), round(active * 0.12))
    return {"deactivated": deact, "duplicates": dups, "orgs": orgs, "individuals": active - orgs}


def _pick(rng: np.random.Generator, pool: tuple[str, ...], n: int) -> np.ndarray:
    # Zipf-like popularity: earlier names are commoner, as in census tables.
    w = 1.0 / np.sqrt(np.arange(1, len(pool) + 1))
    return np.asarray(pool, dtype=object)[rng.choice(len(pool), size=n, p=w / w.sum())]


def _people(rng: np.random.Generator, n: int, male_p: np.ndarray) -> pd.DataFrame:
    male = rng.random(n) < male_p
    first = np.where(male, _pick(rng, MALE_FIRST, n), _pick(rng, FEMALE_FIRST, n))
    last = _pick(rng, LAST_NAMES, n)
    mid_kind = rng.random(n)
    initials = np.asarray(list(MIDDLE_INITIALS), dtype=object)[
        rng.integers(0, len(MIDDLE_INITIALS), n)
    ]
    full_mid = np.where(male, _pick(rng, MALE_FIRST, n), _pick(rng, FEMALE_FIRST, n))
    middle = np.where(mid_kind < 0.65, initials, np.where(mid_kind < 0.8, full_mid, ""))
    return pd.DataFrame(
        {"first": first, "middle": middle, "last": last, "sex": np.where(male, "M", "F")}
    )


def _org_names(rng: np.random.Generator, kinds: np.ndarray, hosp_of: np.ndarray) -> list[str]:
    taken: set[str] = set()
    out: list[str] = []
    lasts = _pick(rng, LAST_NAMES, len(kinds))
    places = rng.integers(0, len(PLACES), size=len(kinds))
    pats = rng.random(len(kinds))
    for i, k in enumerate(kinds.tolist()):
        kind = ORG_KINDS[k]
        if kind.subpart:
            dept = _HOSPITAL_DEPTS[i % len(_HOSPITAL_DEPTS)]
            base = f"{_HOSPITAL_NAMES[hosp_of[i] % len(_HOSPITAL_NAMES)]} MEDICAL CENTER - {dept}"
        else:
            pat = kind.name_patterns[int(pats[i] * len(kind.name_patterns))]
            base = pat.format(place=PLACES[places[i]], last=lasts[i])
        name, extra = base, 2
        while name in taken:
            name = (
                f"{base} {('NORTH', 'EAST', 'SOUTH', 'WEST')[extra % 4]}"
                if extra < 6
                else f"{base} {extra}"
            )
            extra += 1
        taken.add(name)
        out.append(name)
    return out


def build_population(
    rng: np.random.Generator,
    providers: int,
    *,
    n_buildings_hint: float = 0.62,
    npi_lane: int = 0,
    npi_lanes: int = 1,
) -> tuple[Population, int]:
    """Draw organisations and individuals and assign them to practices.

    Buildings are referenced by integer ids (``building`` columns); the caller
    places that many buildings on real streets.

    Parameters
    ----------
    rng
        Seeded generator.
    providers
        Total NPPES rows wanted (see :func:`plan_counts`).
    n_buildings_hint
        Buildings per practice (organisation or solo individual); below 1,
        so medical office buildings host several practices.
    npi_lane, npi_lanes
        Passed to :func:`demo.npi.draw_npis`: populations drawn in different
        lanes share no NPI.

    Returns
    -------
    population : Population
    n_buildings : int
        Number of distinct buildings referenced.
    """
    counts = plan_counts(providers)
    n_org, n_ind = counts["orgs"], counts["individuals"]
    npis = draw_npis(rng, providers, lane=npi_lane, lanes=npi_lanes)
    org_npi, ind_npi = npis[:n_org], npis[n_org : n_org + n_ind]
    dup_npi = npis[n_org + n_ind : n_org + n_ind + counts["duplicates"]]
    deact_npi = npis[n_org + n_ind + counts["duplicates"] :]

    # --- organisations
    kw = np.array([k.weight for k in ORG_KINDS])
    kinds = rng.choice(len(ORG_KINDS), size=n_org, p=kw / kw.sum())
    kinds[: len(ORG_KINDS)] = np.arange(len(ORG_KINDS))  # every kind at least once
    org_family = np.array([ORG_KINDS[k].family for k in kinds], dtype=object)
    subpart = np.array([ORG_KINDS[k].subpart for k in kinds])
    n_hosp = max(1, int(subpart.sum()) // 4)
    hosp_of = rng.integers(0, n_hosp, size=n_org)
    # heavy-tailed practice sizes, capped so no single practice holds more than a
    # few dozen clinicians (a Pareto draw alone put >1,000 in one building)
    size_weight = np.minimum(rng.pareto(1.3, size=n_org) + 0.3, 6.0)
    size_weight[subpart] *= 3.0

    # --- individuals
    sw = np.array([s.weight for s in INDIVIDUAL_SPECIALTIES])
    spec = rng.choice(len(INDIVIDUAL_SPECIALTIES), size=n_ind, p=sw / sw.sum())
    fam = np.array([INDIVIDUAL_SPECIALTIES[s].family for s in spec], dtype=object)
    code = np.array([INDIVIDUAL_SPECIALTIES[s].code for s in spec], dtype=object)
    fit = np.array([INDIVIDUAL_SPECIALTIES[s].fit for s in spec])
    nurse = np.isin(code, ["363L00000X", "363LF0000X", "363LA2200X"])
    male_p = np.where(nurse, 0.12, np.where(np.isin(fam, list(_MALE_LEANING)), 0.8, 0.5))
    people = _people(rng, n_ind, male_p)
    cred_pick = rng.random(n_ind)
    cred = [
        INDIVIDUAL_SPECIALTIES[s].credentials[int(c * len(INDIVIDUAL_SPECIALTIES[s].credentials))]
        for s, c in zip(spec.tolist(), cred_pick.tolist())
    ]
    doctor = np.array([c.replace(".", "") in {"MD", "DO", "DDS", "DMD", "DC"} for c in cred])
    prefix = np.where(doctor & (rng.random(n_ind) < 0.3), "DR.", "")
    suffix = np.where(
        rng.random(n_ind) < 0.03,
        np.asarray(["JR.", "II", "III", "SR."], dtype=object)[rng.integers(0, 4, n_ind)],
        "",
    )

    # Solo or employed; the employer shares the individual's family when possible.
    solo = rng.random(n_ind) < np.array([_SOLO_SHARE[f] for f in fam])
    # PAs and NPs work in specialty practices too.
    roam = (np.isin(code, ["363A00000X", "363L00000X"])) & (rng.random(n_ind) < 0.35)
    want = np.where(
        roam,
        np.asarray(["msk", "neuro", "cardio", "obgyn"], dtype=object)[rng.integers(0, 4, n_ind)],
        fam,
    )
    org_id = np.full(n_ind, -1, dtype=np.int64)
    all_p = size_weight / size_weight.sum()
    for f in np.unique(want[~solo]).tolist():
        who = np.flatnonzero((want == f) & ~solo)
        cand = np.flatnonzero(org_family == f)
        if cand.size == 0:
            org_id[who] = rng.choice(n_org, size=who.size, p=all_p)
        else:
            p = size_weight[cand] / size_weight[cand].sum()
            org_id[who] = cand[rng.choice(cand.size, size=who.size, p=p)]

    # --- practices (orgs + solo individuals) -> buildings and suites
    n_solo = int(solo.sum())
    n_practice = n_org + n_solo
    n_buildings = max(8, round(n_practice * n_buildings_hint))
    practice_building = rng.integers(0, n_buildings, size=n_practice)
    # departments of one hospital share its campus building
    hosp_building = rng.integers(0, n_buildings, size=n_hosp)
    practice_building[:n_org] = np.where(subpart, hosp_building[hosp_of], practice_building[:n_org])
    floor = rng.integers(1, 6, size=n_practice)
    unit = rng.integers(0, 40, size=n_practice)
    suite_num = floor * 100 + unit
    share = pd.Series(practice_building).map(pd.Series(practice_building).value_counts()).to_numpy()
    no_suite = (share == 1) & (rng.random(n_practice) < 0.6)
    # make suites unique within a building
    key = pd.Series(practice_building * 10_000 + suite_num)
    bump = key.groupby(key).cumcount().to_numpy()
    suite_num = suite_num + bump * 7
    suite = np.where(no_suite, "", suite_num.astype(str).astype(object))
    phone = phone_numbers(rng, n_practice)
    fax = np.where(rng.random(n_practice) < 0.75, phone_numbers(rng, n_practice), "")

    official = _people(rng, n_org, np.full(n_org, 0.45))
    orgs = pd.DataFrame(
        {
            "org_id": np.arange(n_org),
            "npi": org_npi,
            "name": _org_names(rng, kinds, hosp_of),
            "kind": kinds,
            "family": org_family,
            "subpart": subpart,
            "parent_lbn": np.where(subpart, "CENTRAL OHIO HEALTH SYSTEM INC", ""),
            "building": practice_building[:n_org],
            "suite": suite[:n_org],
            "phone": phone[:n_org],
            "fax": fax[:n_org],
            "official_first": official["first"].to_numpy(),
            "official_middle": official["middle"].to_numpy(),
            "official_last": official["last"].to_numpy(),
            "official_title": np.asarray(_OFFICIAL_TITLES, dtype=object)[
                rng.integers(0, len(_OFFICIAL_TITLES), n_org)
            ],
        }
    )
    solo_idx = np.full(n_ind, -1, dtype=np.int64)
    solo_idx[solo] = n_org + np.arange(n_solo)
    pidx = np.where(solo, solo_idx, org_id)
    ind = pd.DataFrame(
        {
            "npi": ind_npi,
            **{c: people[c].to_numpy() for c in people.columns},
            "prefix": prefix,
            "suffix": suffix,
            "credential": cred,
            "spec": spec,
            "code": code,
            "family": fam,
            "fit": fit,
            "org_id": np.where(solo, -1, org_id),
            "building": practice_building[pidx],
            "suite": suite[pidx],
            "phone": phone[pidx],
            "fax": fax[pidx],
            "dup_of": "",
        }
    )

    # --- one person, two NPIs: same name, same practice, later enumeration
    src = rng.choice(n_ind, size=len(dup_npi), replace=False)
    dups = ind.iloc[src].copy()
    dups["dup_of"] = dups["npi"].to_numpy()
    dups["npi"] = dup_npi
    ind = pd.concat([ind, dups], ignore_index=True)

    # --- deactivated NPIs (most fields blank, like the real file)
    n_d = len(deact_npi)
    reasons = np.asarray(["DT", "DB", "FR", "OT"], dtype=object)[
        rng.choice(4, size=n_d, p=[0.3, 0.35, 0.05, 0.3])
    ]
    replacement = np.full(n_d, "", dtype=object)
    k = min(2, n_d)
    replacement[:k] = rng.choice(np.asarray(ind_npi, dtype=object), size=k, replace=False)
    deactivated = pd.DataFrame(
        {
            "npi": deact_npi,
            "reason": reasons,
            "replacement": replacement,
            "date_ordinal": rng.integers(
                date(2009, 1, 1).toordinal(), date(2026, 1, 1).toordinal(), size=n_d
            ),
        }
    )
    return Population(orgs=orgs, individuals=ind, deactivated=deactivated), n_buildings
