"""Labelled record-linkage benchmark data: providers written 1-4 times, corrupted, with truth.

Each true provider (an individual, or for 10 % an organisation) lives at a
practice (a street address, ZIP and a phone shared by the practice's group)
and is written by several sources. The first copy is the registry row with
its NPI; further copies get realistic corruptions, each with its own rate:

* typos (one keyboard error) in the surname or given name;
* nickname (Bob for Robert), given name cut to an initial, first and last names swapped;
* extra title and credential ("Dr", ", M.D."), case changes, hyphen written as a space;
* changed surname (marriage), moved practice (new address, ZIP and phone);
* street-type, unit and directional abbreviations (St/Street, Ste/Suite, N/North),
  phone formats, missing phone / address / specialty;
* the NPI kept on only some copies, so many true pairs share no identifier.

The surname pool mixes the common US surnames of :mod:`demo.names` with
syllable-built ones (Zipf-weighted), so a million records still hold realistic
namesakes: people who share a name and even a ZIP code without being one person.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from demo.name_pools import FEMALE_FIRST, LAST_NAMES, MALE_FIRST, NICKNAMES
from demo.names import typo
from demo.npi import draw_npis
from demo.specialties import INDIVIDUAL_SPECIALTIES

_SYLLABLES = (
    "AL",
    "BAR",
    "BER",
    "CAR",
    "DAN",
    "DEL",
    "FER",
    "GAL",
    "HAR",
    "KAL",
    "KOV",
    "LAN",
    "LIN",
    "MAR",
    "MOR",
    "NEL",
    "NOR",
    "PER",
    "RAN",
    "ROS",
    "SAN",
    "SEL",
    "TAN",
    "TOR",
    "VAL",
    "VEN",
    "WIL",
    "ZAN",
    "BRO",
    "CHE",
    "DRA",
    "GRE",
    "KRI",
    "PLA",
    "STE",
    "TRO",
    "SKI",
    "SON",
    "MAN",
    "TON",
    "LEY",
    "ETT",
    "INI",
    "EZ",
    "ER",
    "OV",
    "EK",
    "IS",
)
_STREETS = (
    "MAIN",
    "HIGH",
    "BROAD",
    "OAK",
    "MAPLE",
    "CEDAR",
    "ELM",
    "WASHINGTON",
    "LINCOLN",
    "PARK",
    "LAKE",
    "HILL",
    "RIVER",
    "SPRING",
    "CHURCH",
    "MILL",
    "FOREST",
    "SUNSET",
    "CENTER",
    "UNION",
    "JEFFERSON",
    "FRANKLIN",
    "MADISON",
    "WALNUT",
    "CHESTNUT",
    "PINE",
    "WILLOW",
    "MEADOW",
)
_TYPES = (
    ("STREET", "ST"),
    ("AVENUE", "AVE"),
    ("ROAD", "RD"),
    ("BOULEVARD", "BLVD"),
    ("DRIVE", "DR"),
    ("LANE", "LN"),
    ("PARKWAY", "PKWY"),
)
_DIRS = (("NORTH", "N"), ("SOUTH", "S"), ("EAST", "E"), ("WEST", "W"))
_STATES = ("OH", "IN", "KY", "PA", "MI", "IL", "WI", "TX", "CA", "NY", "FL", "GA")
_ORG_WORDS = (
    "FAMILY MEDICINE",
    "ORTHOPAEDICS",
    "IMAGING",
    "CARDIOLOGY",
    "PEDIATRICS",
    "INTERNAL MEDICINE",
    "SURGICAL",
    "WOMENS HEALTH",
    "DERMATOLOGY",
    "PHYSICAL THERAPY",
)
_ORG_KINDS = ("ASSOCIATES", "GROUP", "CLINIC", "PARTNERS", "CENTER", "SPECIALISTS")
_LEGAL = ("LLC", "INC", "PC", "PLLC", "")

#: Corruption rates of a non-first copy (each drawn independently).
RATES = {
    "last_typo": 0.12,
    "first_typo": 0.08,
    "nickname": 0.25,
    "initial": 0.06,
    "swapped": 0.03,
    "title": 0.3,
    "credential": 0.3,
    "changed_surname": 0.03,
    "moved": 0.06,
    "no_phone": 0.2,
    "no_address": 0.04,
    "no_taxonomy": 0.25,
    "address_style": 0.5,
    "keep_npi": 0.3,
}


def surname_pool(rng: np.random.Generator, size: int = 40_000) -> tuple[np.ndarray, np.ndarray]:
    """Surnames and Zipf-like draw probabilities: real common ones first."""
    syl = np.array(_SYLLABLES, dtype=object)
    made = {"".join(rng.choice(syl, size=int(rng.integers(2, 4)))) for _ in range(size * 2)}
    made -= set(LAST_NAMES)
    names = np.array(
        list(LAST_NAMES) + sorted(made)[: max(size - len(LAST_NAMES), 0)], dtype=object
    )
    weight = 1.0 / (np.arange(len(names)) + 10.0) ** 0.9
    return names, weight / weight.sum()


def _phone_text(digits: str, style: int) -> str:
    if style == 0:
        return digits
    if style == 1:
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    if style == 2:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return f"+1 {digits[:3]}.{digits[3:6]}.{digits[6:]}"


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    area = rng.integers(201, 990, size=n)
    exch = rng.integers(200, 999, size=n)
    line = rng.integers(0, 10_000, size=n)
    return np.array([f"{a}{e}{s:04d}" for a, e, s in zip(area, exch, line)], dtype=object)


def _practices(rng: np.random.Generator, n: int, n_zips: int) -> pd.DataFrame:
    """Practice sites: address parts, ZIP, state, group phone."""
    zips = np.array(
        [f"{z:05d}" for z in rng.choice(np.arange(10_000, 99_999), n_zips, replace=False)]
    )
    zip_state = np.array(_STATES)[rng.integers(0, len(_STATES), n_zips)]
    z = rng.integers(0, n_zips, n)
    return pd.DataFrame(
        {
            "number": rng.integers(1, 9_999, n),
            "dir": rng.integers(-1, len(_DIRS), n),
            "street": rng.integers(0, len(_STREETS), n),
            "type": rng.integers(0, len(_TYPES), n),
            "suite": np.where(rng.random(n) < 0.5, rng.integers(100, 999, n), 0),
            "zip": zips[z],
            "state": zip_state[z],
            "phone": _phones(rng, n),
        }
    )


def _address(p: pd.Series, full: bool) -> tuple[str, str | None]:
    d = "" if p["dir"] < 0 else _DIRS[p["dir"]][0 if full else 1] + " "
    t = _TYPES[p["type"]][0 if full else 1]
    line1 = f"{p['number']} {d}{_STREETS[p['street']]} {t}"
    suite = None if not p["suite"] else (f"SUITE {p['suite']}" if full else f"STE {p['suite']}")
    return line1, suite


def generate(n_records: int, *, seed: int = 11) -> pd.DataFrame:
    """About ``n_records`` corrupted records with the true ``entity_id`` of each.

    Returns
    -------
    pandas.DataFrame
        Standard source-record columns (``source``, ``source_key``, ``npi``,
        ``entity_type``, names, ``credential``, ``taxonomy_code``, address,
        ``postal_code``, ``state``, ``phone``) plus ``entity_id`` (the truth).
    """
    rng = np.random.default_rng(seed)
    copies = rng.choice([1, 2, 3, 4], size=max(n_records // 2, 1), p=[0.25, 0.35, 0.3, 0.1])
    copies = copies[: np.searchsorted(np.cumsum(copies), n_records) + 1]
    n_ent = len(copies)
    surnames, sp = surname_pool(rng, size=min(60_000, max(2_000, n_ent // 6)))
    female = rng.random(n_ent) < 0.5
    first_f = np.array(FEMALE_FIRST, dtype=object)
    first_m = np.array(MALE_FIRST, dtype=object)
    fw = 1.0 / (np.arange(len(first_f)) + 5.0)
    mw = 1.0 / (np.arange(len(first_m)) + 5.0)
    first = np.where(
        female,
        rng.choice(first_f, n_ent, p=fw / fw.sum()),
        rng.choice(first_m, n_ent, p=mw / mw.sum()),
    )
    last = rng.choice(surnames, n_ent, p=sp)
    is_org = rng.random(n_ent) < 0.1
    org_name = np.array(
        [
            f"{last[i]} {_ORG_WORDS[i % len(_ORG_WORDS)]} {_ORG_KINDS[(i // 7) % len(_ORG_KINDS)]}"
            for i in range(n_ent)
        ],
        dtype=object,
    )
    specs = [s.code for s in INDIVIDUAL_SPECIALTIES]
    tax = np.array(specs, dtype=object)[rng.integers(0, len(specs), n_ent)]
    n_practices = max(n_ent // 4, 1)
    practices = _practices(rng, n_practices, n_zips=max(n_practices // 30, 20))
    practice = rng.integers(0, n_practices, n_ent)
    npis = np.array(draw_npis(rng, n_ent), dtype=object)
    rows: list[dict] = []
    prac_rows = practices.to_dict("records")
    # a move stays in the state (a new practice across town, not across the country)
    by_state = {st: np.flatnonzero(practices["state"].to_numpy() == st) for st in _STATES}
    u = rng.random((n_records + 10, len(RATES)))
    keys = list(RATES)
    k = 0
    for e in range(n_ent):
        for c in range(int(copies[e])):
            if len(rows) >= n_records:
                break
            r = dict(zip(keys, u[k] < np.array([RATES[x] for x in keys]))) if c else {}
            k += 1
            prac = prac_rows[practice[e]]
            if r.get("moved"):
                pool = by_state[prac["state"]]
                prac = prac_rows[int(pool[int(rng.integers(0, len(pool)))])]
            full = bool(r.get("address_style")) if c else False
            line1, line2 = _address(prac, full)
            fn, ln = str(first[e]), str(last[e])
            if r.get("changed_surname") and female[e]:
                ln = str(surnames[int(rng.integers(0, 300))])
            if r.get("nickname") and fn in NICKNAMES:
                nick = NICKNAMES[fn]
                fn = nick[int(rng.integers(0, len(nick)))]
            if r.get("last_typo"):
                ln = typo(ln, rng)
            if r.get("first_typo"):
                fn = typo(fn, rng)
            if r.get("initial"):
                fn = fn[0] + "."
            if r.get("swapped"):
                fn, ln = ln, fn
            if c and rng.random() < 0.5:
                fn, ln = fn.title(), ln.title()
            if r.get("title"):
                fn = "Dr. " + fn
            if r.get("credential") and c == 2:
                ln = ln + ", MD"  # credential written into the name field
            rec = {
                "source": ("registry", "cms", "referrers", "crm")[c],
                "source_key": f"{c}-{e}",
                "npi": npis[e] if c == 0 or r.get("keep_npi") else None,
                "entity_type": "organization" if is_org[e] else "individual",
                "first_name": None if is_org[e] else fn,
                "last_name": None if is_org[e] else ln,
                "credential": ("M.D." if r.get("credential") else "MD") if not is_org[e] else None,
                "organization_name": (
                    f"{org_name[e]} {_LEGAL[(e + c) % len(_LEGAL)]}".strip() if is_org[e] else None
                ),
                "taxonomy_code": None if r.get("no_taxonomy") else tax[e],
                "address_1": None if r.get("no_address") else line1,
                "address_2": None if r.get("no_address") else line2,
                "postal_code": prac["zip"] + ("" if c != 1 else "-1234"),
                "state": prac["state"],
                "phone": None if r.get("no_phone") else _phone_text(prac["phone"], c % 4),
                "entity_id": e,
            }
            rows.append(rec)
    return pd.DataFrame(rows)
