"""Free-text referrer benchmark data: a metro's golden providers, practices and notes, with truth.

A metro of ``n`` individual physicians (surnames from the Zipf-weighted pool of
:func:`bench.linkage_data.surname_pool`, so there are a few dozen Smiths; given
names from the census pools) works in practices named as US practices are
("Riverside Orthopaedics, Inc.", "Capital City Medical Group", "Smith & Patel
Family Medicine"), 1 to ~40 members each; about a fifth works alone.
Realistic namesakes are injected on top of the ones the draw gives: relatives
sharing a surname *and* a practice (and so a specialty), and people sharing a
whole name in the same metro, half of them with the same specialty. The golden
record knows a practice for most members but not all (NPPES records no
membership; the inferred one misses some), while the referral note still names
the practice the referrer works at.

Each committed pattern of :data:`PATTERNS` (how a scheduling system or a person
writes a referrer) is rendered for random true providers. This module is the
benchmark's definition and deliberately shares nothing with the matcher
(:mod:`enrichment.freetext`): its shorthands and practice short forms are how
people write, whatever the matcher knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.linkage_data import surname_pool
from demo.name_pools import FEMALE_FIRST, MALE_FIRST, MIDDLE_INITIALS, NICKNAMES
from demo.names import title_case, typo

__all__ = ["PATTERNS", "FreeTextWorld", "generate_world"]

#: How referral notes write a referrer: name -> template. Fields: ``{First}``, ``{FIRST}``,
#: ``{F}`` (initial), ``{M}`` (middle initial), ``{Last}``, ``{LAST}``, ``{last}``,
#: ``{LastTypo}`` (one keyboard error), ``{Nick}``, ``{cred}``, ``{spec}`` (a shorthand),
#: ``{SpecLong}``, ``{Practice}`` (full name), ``{PracticeShort}``, ``{practiceshort}``,
#: ``{PracticePlace}`` (its place word), ``{City}``.
PATTERNS: dict[str, str] = {
    "last_first_cred": "{Last}, {First} {cred}",  # Smith, John MD
    "dr_initial_spec": "Dr. {F} {Last} ({spec})",  # Dr. J Smith (ortho)
    "first_last_practice": "{First} {Last} ({Practice})",  # Jane Smith (Riverside Ortho)
    "dr_first_last_dash_practice": "Dr {First} {Last} - {PracticeShort}",  # Dr John Smith - ..
    "surname_slash_practice": "{last}/{practiceshort}",  # smith/riverside
    "upper_last_initial": "{LAST} {F}",  # SMITH J
    "initial_last_cred_speclong": "{F}. {Last} {cred} ({SpecLong})",  # J. Smith MD (Cardiology)
    "dr_last_dash_place_spec": "Dr {Last} - {PracticePlace} {spec}",  # Dr Smith - Riverside Ortho
    "first_last_comma_practice": "{First} {Last}, {PracticeShort}",  # John Smith, Riverside
    "dr_first_last": "Dr. {First} {Last}",  # Dr. Jane Smith-Jones (hyphenated surnames drawn)
    "nickname": "{Nick} {Last}",  # Bob Smith
    "typo_surname": "Dr. {First} {LastTypo}",
    "upper_last_first_middle": "{LAST} {FIRST} {M}",  # SMITH JOHN A (scheduling export)
    "first_last_cred_city": "{First} {Last} {cred}, {City}",
    "last_at_practice": "Dr. {Last} @ {PracticeShort}",
    "practice_dash_initial_last": "{PracticeShort} - Dr. {F} {Last}",
    "dr_first_middle_last_cred": "Dr. {First} {M}. {Last}, {cred}",
    "last_comma_initial_spec": "{Last}, {F} ({spec})",
}


@dataclass(frozen=True)
class _Specialty:
    classification: str
    specialization: str | None
    weight: float
    practice_words: tuple[str, ...]  # how a practice of this specialty is named
    short: tuple[str, ...]  # how notes abbreviate it
    long: tuple[str, ...]  # how notes spell it out


_SPECIALTIES = (
    _Specialty(
        "Family Medicine",
        None,
        14,
        ("Family Medicine", "Family Practice", "Primary Care"),
        ("FP", "fam med", "PCP"),
        ("Family Medicine", "Family Practice"),
    ),
    _Specialty(
        "Internal Medicine",
        None,
        12,
        ("Internal Medicine",),
        ("IM", "int med"),
        ("Internal Medicine",),
    ),
    _Specialty(
        "Internal Medicine",
        "Cardiovascular Disease",
        4,
        ("Cardiology", "Heart Specialists", "Heart & Vascular"),
        ("cardio", "cards"),
        ("Cardiology",),
    ),
    _Specialty(
        "Internal Medicine",
        "Gastroenterology",
        2.5,
        ("Gastroenterology", "Digestive Health"),
        ("GI", "gastro"),
        ("Gastroenterology",),
    ),
    _Specialty(
        "Orthopaedic Surgery",
        None,
        4,
        ("Orthopaedics", "Orthopedic Associates", "Bone & Joint"),
        ("ortho",),
        ("Orthopedics", "Orthopaedic Surgery"),
    ),
    _Specialty(
        "Pediatrics", None, 7, ("Pediatrics", "Children's Health"), ("peds",), ("Pediatrics",)
    ),
    _Specialty("Dermatology", None, 2, ("Dermatology", "Skin Care"), ("derm",), ("Dermatology",)),
    _Specialty(
        "Obstetrics & Gynecology",
        None,
        4,
        ("OB/GYN", "Women's Health"),
        ("OB/GYN", "OBGYN"),
        ("Obstetrics and Gynecology", "Gynecology"),
    ),
    _Specialty(
        "Psychiatry & Neurology", "Neurology", 2.5, ("Neurology",), ("neuro",), ("Neurology",)
    ),
    _Specialty(
        "Psychiatry & Neurology",
        "Psychiatry",
        3,
        ("Behavioral Health", "Psychiatry"),
        ("psych",),
        ("Psychiatry",),
    ),
    _Specialty("Otolaryngology", None, 1.2, ("ENT", "Ear Nose & Throat"), ("ENT",), ("ENT",)),
    _Specialty("Urology", None, 1.2, ("Urology",), ("uro",), ("Urology",)),
    _Specialty(
        "Physical Medicine & Rehabilitation",
        None,
        1.5,
        ("Spine & Rehab", "Physical Medicine"),
        ("PM&R", "rehab"),
        ("Physiatry", "Physical Medicine"),
    ),
    _Specialty(
        "Emergency Medicine",
        None,
        3,
        ("Emergency Physicians",),
        ("ER", "EM"),
        ("Emergency Medicine",),
    ),
)
_PLACES = (
    "Riverside", "Northside", "Eastside", "Westside", "Mount Carmel", "Olentangy", "Worthington",
    "Buckeye", "Capital City", "Central Ohio", "Lakeview", "Hilltop", "Grandview", "Clintonville",
    "Bexley", "Scioto", "Pickerington", "Hilliard", "Arlington", "Polaris", "Easton", "Franklin",
    "Delaware", "Licking Valley", "Fairfield", "Madison", "Oak Creek", "Pine Ridge", "Maple Grove",
    "Summit", "Heritage", "Pinnacle", "Premier", "Ohio Valley", "Alum Creek", "Darby Creek",
    "Big Walnut", "Sunbury", "Gahanna", "Genoa",
)  # fmt: skip
_FORMS = ("", "", " Inc", ", Inc.", " LLC", " PC", " Associates", " Group", " Physicians")
_MULTI = ("Medical Group", "Health Partners", "Physicians", "Medical Associates")
_CITIES = ("Columbus", "Dublin", "Westerville", "Worthington", "Hilliard", "Grove City", "Gahanna")
_CITY_P = np.array([0.55, 0.1, 0.1, 0.06, 0.07, 0.06, 0.06])
_CREDS = ("MD", "MD", "M.D.", "DO")


@dataclass(frozen=True)
class FreeTextWorld:
    """One seed's benchmark: ``golden`` (what the matcher is given) and ``rows``
    (``pattern``, ``text``, ``provider_id`` of the true referrer)."""

    golden: pd.DataFrame
    rows: pd.DataFrame


def _practices(rng: np.random.Generator, n: int, surnames: np.ndarray) -> pd.DataFrame:
    """Practices with members' specialty, name, place word and city, until ~80% of ``n`` work in one."""
    spec_p = np.array([s.weight for s in _SPECIALTIES])
    spec_p /= spec_p.sum()
    rows, seats = [], 0
    while seats < 0.8 * n:
        size = int(np.clip(np.round(rng.lognormal(1.6, 0.9)), 1, 40))
        spec = int(rng.choice(len(_SPECIALTIES), p=spec_p)) if rng.random() < 0.8 else -1
        place = str(rng.choice(_PLACES))
        if spec < 0:
            word = str(rng.choice(_MULTI))
        else:
            word = str(rng.choice(_SPECIALTIES[spec].practice_words))
        if spec >= 0 and rng.random() < 0.12:  # named after its founders
            a, b = (title_case(str(s)) for s in rng.choice(surnames[:300], 2))
            place = f"{a} & {b}" if rng.random() < 0.6 else a
        name = f"{place} {word}{rng.choice(_FORMS)}"
        rows.append({"name": name, "place": place, "word": word, "spec": spec, "size": size})
        seats += size
    frame = pd.DataFrame(rows).drop_duplicates("name").reset_index(drop=True)
    frame["city"] = rng.choice(_CITIES, size=len(frame), p=_CITY_P)
    return frame


def _people(rng: np.random.Generator, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    names, weights = surname_pool(rng, 40_000)
    orgs = _practices(rng, n, names)
    seat_org = np.repeat(orgs.index.to_numpy(), orgs["size"].to_numpy())[:n]
    org = np.full(n, -1)
    org[: len(seat_org)] = seat_org
    rng.shuffle(org)
    spec_p = np.array([s.weight for s in _SPECIALTIES]) / sum(s.weight for s in _SPECIALTIES)
    female = rng.random(n) < 0.45
    first = [str(rng.choice(FEMALE_FIRST[:60] if f else MALE_FIRST[:60])) for f in female]
    last = [str(s) for s in rng.choice(names, size=n, p=weights)]
    for i in np.flatnonzero(female & (rng.random(n) < 0.06)):  # double-barrelled surnames
        last[i] = f"{last[i]}-{rng.choice(names[:2000])}"
    spec = [
        int(orgs.at[o, "spec"]) if o >= 0 and orgs.at[o, "spec"] >= 0 and rng.random() < 0.92
        else int(rng.choice(len(_SPECIALTIES), p=spec_p))
        for o in org
    ]  # fmt: skip
    city = [orgs.at[o, "city"] if o >= 0 else str(rng.choice(_CITIES, p=_CITY_P)) for o in org]
    people = pd.DataFrame(
        {"first": first, "last": last, "spec": spec, "org": org, "city": city, "female": female}
    )
    people["middle"] = rng.choice(list(MIDDLE_INITIALS), size=n)
    _namesakes(rng, people)
    return people, orgs


def _namesakes(rng: np.random.Generator, people: pd.DataFrame) -> None:
    """Relatives in one practice (same surname and specialty), and whole-name namesakes."""
    n = len(people)
    members = people.index[people["org"] >= 0].to_numpy()
    for _ in range(max(n // 60, 1)):  # a surname shared inside a practice
        a = int(rng.choice(members))
        mates = people.index[(people["org"] == people.at[a, "org"]) & (people.index != a)]
        if len(mates):
            b = int(rng.choice(mates))
            people.loc[b, ["last", "spec"]] = people.loc[a, ["last", "spec"]].to_numpy()
            if rng.random() < 0.4:  # and a first initial: "J Smith" is either of them
                pool = FEMALE_FIRST if people.at[b, "female"] else MALE_FIRST
                same = [f for f in pool if f[0] == people.at[a, "first"][0]]
                if same:
                    people.at[b, "first"] = str(rng.choice(same))
    for _ in range(max(n // 60, 1)):  # a whole name shared in the metro
        a, b = (int(i) for i in rng.choice(n, 2, replace=False))
        people.loc[b, ["first", "last", "female"]] = people.loc[a, ["first", "last", "female"]]
        if rng.random() < 0.5:
            people.at[b, "spec"] = people.at[a, "spec"]


def _golden(rng: np.random.Generator, people: pd.DataFrame, orgs: pd.DataFrame) -> pd.DataFrame:
    known = (people["org"] >= 0) & (rng.random(len(people)) < 0.93)  # membership NPPES shows
    specs = [_SPECIALTIES[s] for s in people["spec"]]
    return pd.DataFrame(
        {
            "provider_id": np.arange(1, len(people) + 1),
            "first_name": people["first"],
            "middle_name": people["middle"],
            "last_name": people["last"],
            "credential": rng.choice(_CREDS, size=len(people)),
            "classification": [s.classification for s in specs],
            "specialization": [s.specialization for s in specs],
            "city": [c.upper() for c in people["city"]],
            "practice": [
                orgs.at[o, "name"] if k else None for o, k in zip(people["org"], known, strict=True)
            ],
        }
    )


def _practice_short(rng: np.random.Generator, org: pd.Series) -> str:
    """How a note names a practice: its place word, place and a shorthand, or its name."""
    options = [org["place"], re.sub(r",? (Inc\.?|LLC|PC)$", "", org["name"])]
    if org["spec"] >= 0:
        options.append(f"{org['place']} {rng.choice(_SPECIALTIES[org['spec']].short)}")
    return str(rng.choice(options))


def _fields(
    rng: np.random.Generator, person: pd.Series, golden: pd.Series, orgs: pd.DataFrame
) -> dict[str, str]:
    spec = _SPECIALTIES[person["spec"]]
    first, last = title_case(person["first"]), title_case(person["last"])
    mistyped = typo(person["last"].upper(), rng)
    fields = {
        "First": first,
        "FIRST": first.upper(),
        "F": first[0],
        "M": person["middle"],
        "Last": last,
        "LAST": last.upper(),
        "last": last.lower(),
        "LastTypo": title_case(mistyped),
        "Nick": title_case(str(rng.choice(NICKNAMES.get(person["first"], (first,))))),
        "cred": golden["credential"],
        "spec": str(rng.choice(spec.short)),
        "SpecLong": str(rng.choice(spec.long)),
        "City": person["city"],
    }
    if person["org"] >= 0:
        org = orgs.loc[person["org"]]
        short = _practice_short(rng, org)
        fields |= {
            "Practice": org["name"],
            "PracticeShort": short,
            "practiceshort": short.lower(),
            "PracticePlace": org["place"],
        }
    return fields


def _eligible(template: str, people: pd.DataFrame) -> np.ndarray:
    ok = np.ones(len(people), dtype=bool)
    if "{Practice" in template or "{practice" in template:
        ok &= (people["org"] >= 0).to_numpy()
    if "{Nick}" in template:
        ok &= people["first"].isin(list(NICKNAMES)).to_numpy()
    if "{LastTypo}" in template:
        ok &= (people["last"].str.len() > 4).to_numpy()
    return np.flatnonzero(ok)


def generate_world(*, seed: int, providers: int = 4000, per_pattern: int = 150) -> FreeTextWorld:
    """A metro's golden individuals and ``per_pattern`` notes per pattern, with truth.

    Parameters
    ----------
    seed
        Everything is drawn from ``numpy.random.default_rng(seed)``.
    providers
        Individuals in the metro.
    per_pattern
        Notes rendered per pattern of :data:`PATTERNS`, each for a random eligible provider
        (practice patterns need a practice, nicknames a name that has one).
    """
    rng = np.random.default_rng(seed)
    people, orgs = _people(rng, providers)
    golden = _golden(rng, people, orgs)
    rows = []
    for pattern, template in PATTERNS.items():
        pool = _eligible(template, people)
        for i in rng.choice(pool, size=per_pattern):
            fields = _fields(rng, people.loc[i], golden.loc[i], orgs)
            text = template.format(**fields)
            rows.append({"pattern": pattern, "text": text, "provider_id": int(i) + 1})
    return FreeTextWorld(golden=golden, rows=pd.DataFrame(rows))
