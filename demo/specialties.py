"""The specialty mix of a central-Columbus provider population.

Weights are rough shares of active NPIs in an urban US county (primary care and
nurse practitioners dominate; musculoskeletal specialties are a few percent).
``fit`` is how likely a provider of that specialty is to order imaging or
refer to an orthopaedics clinic: it drives who becomes a referrer in the
synthetic referral events.  Every code is checked against the NUCC file at
load time, so a typo here fails loudly instead of producing unknown codes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.errors import InputError, Problem

__all__ = [
    "FAMILIES",
    "INDIVIDUAL_SPECIALTIES",
    "ORG_KINDS",
    "OrgKind",
    "Specialty",
    "check_codes",
    "license_numbers",
    "nucc_codes",
    "nucc_labels",
]

FAMILIES: tuple[str, ...] = (
    "primary",
    "msk",
    "neuro",
    "cardio",
    "obgyn",
    "chiro",
    "pt",
    "dental",
    "imaging",
    "hospital",
)


@dataclass(frozen=True, slots=True)
class Specialty:
    """One individual taxonomy in the mix.

    Attributes
    ----------
    code
        NUCC taxonomy code of the primary taxonomy.
    weight
        Relative share of individual providers.
    family
        Practice family (see :data:`FAMILIES`): which organisations employ them.
    fit
        0-1 propensity to refer to an imaging / orthopaedics clinic.
    credentials
        Credential texts as providers type them, most common first.
    licence
        Ohio licence-number style: ``md``, ``do``, ``pa``, ``rn``, ``dc``, ``pt`` or ``dds``.
    secondary
        Codes a provider of this specialty may list in other taxonomy slots.
    """

    code: str
    weight: float
    family: str
    fit: float
    credentials: tuple[str, ...]
    licence: str
    secondary: tuple[str, ...] = ()


_MD = ("MD", "M.D.", "MD", "DO", "D.O.")
_NP = ("NP", "APRN-CNP", "CNP", "FNP-C", "APRN", "MSN, CNP")
_PA = ("PA-C", "PA", "P.A.-C")

INDIVIDUAL_SPECIALTIES: tuple[Specialty, ...] = (
    Specialty("207Q00000X", 10.0, "primary", 0.55, _MD, "md", ("207QS0010X", "207QA0505X")),
    Specialty("207R00000X", 10.0, "primary", 0.45, _MD, "md", ("207RG0300X",)),
    Specialty("208000000X", 5.0, "primary", 0.15, _MD, "md", ("2080P0006X",)),
    Specialty("363L00000X", 5.0, "primary", 0.30, _NP, "rn", ("363LF0000X",)),
    Specialty("363LF0000X", 7.0, "primary", 0.35, _NP, "rn", ("363L00000X", "363LP2300X")),
    Specialty("363LA2200X", 1.5, "primary", 0.30, _NP, "rn", ("363L00000X",)),
    Specialty("363A00000X", 7.0, "primary", 0.45, _PA, "pa", ("363AS0400X",)),
    Specialty("207X00000X", 2.2, "msk", 1.00, _MD, "md", ("207XS0114X", "207XX0005X")),
    Specialty("207XS0114X", 0.4, "msk", 1.00, _MD, "md", ("207X00000X",)),
    Specialty("207XX0005X", 0.5, "msk", 1.00, _MD, "md", ("207X00000X", "207QS0010X")),
    Specialty("207XS0117X", 0.4, "msk", 1.00, _MD, "md", ("207X00000X",)),
    Specialty("207XS0106X", 0.3, "msk", 0.90, _MD, "md", ("207X00000X",)),
    Specialty("207XX0004X", 0.3, "msk", 0.90, _MD, "md", ("207X00000X",)),
    Specialty("207QS0010X", 1.0, "msk", 0.95, _MD, "md", ("207Q00000X",)),
    Specialty("208100000X", 1.2, "msk", 0.90, _MD, "md", ("2081P2900X",)),
    Specialty("208VP0014X", 0.8, "msk", 0.85, _MD, "md", ("208VP0000X", "207LP2900X")),
    Specialty("2084N0400X", 2.0, "neuro", 0.80, _MD, "md", ("2084N0402X",)),
    Specialty("207T00000X", 0.7, "neuro", 0.90, _MD, "md", ()),
    Specialty("207RC0000X", 2.5, "cardio", 0.25, _MD, "md", ("207RI0011X",)),
    Specialty("207V00000X", 3.0, "obgyn", 0.25, _MD, "md", ("207VG0400X",)),
    Specialty("111N00000X", 3.0, "chiro", 0.70, ("DC", "D.C."), "dc", ("111NS0005X",)),
    Specialty("225100000X", 5.0, "pt", 0.55, ("PT", "DPT", "PT, DPT"), "pt", ("2251X0800X",)),
    Specialty("2251X0800X", 1.0, "pt", 0.60, ("PT", "DPT"), "pt", ("225100000X",)),
    Specialty("2251S0007X", 0.5, "pt", 0.65, ("DPT", "PT, SCS"), "pt", ("225100000X",)),
    Specialty("1223G0001X", 4.0, "dental", 0.02, ("DDS", "DMD", "D.D.S."), "dds", ("122300000X",)),
    Specialty("122300000X", 2.0, "dental", 0.02, ("DDS", "DMD"), "dds", ()),
    Specialty("2085R0202X", 2.0, "imaging", 0.10, _MD, "md", ("2085N0700X",)),
    Specialty("207P00000X", 3.0, "hospital", 0.30, _MD, "md", ()),
    Specialty("207L00000X", 2.5, "hospital", 0.10, _MD, "md", ("207LP2900X",)),
    Specialty("208600000X", 2.0, "hospital", 0.40, _MD, "md", ()),
    Specialty("207RG0100X", 1.2, "primary", 0.15, _MD, "md", ()),
    Specialty("207RE0101X", 0.8, "primary", 0.10, _MD, "md", ()),
)


@dataclass(frozen=True, slots=True)
class OrgKind:
    """One kind of organisation (entity type 2).

    Attributes
    ----------
    family
        Family of individuals it employs.
    weight
        Relative share of organisations.
    codes
        Taxonomy codes it may carry, the first being the commonest.
    name_patterns
        Legal-name templates; ``{place}`` and ``{last}`` are filled in.
    subpart
        Whether it is registered as a subpart of a parent (hospital departments).
    """

    family: str
    weight: float
    codes: tuple[str, ...]
    name_patterns: tuple[str, ...]
    subpart: bool = False


ORG_KINDS: tuple[OrgKind, ...] = (
    OrgKind(
        "primary",
        30.0,
        ("193400000X", "261QP2300X", "207Q00000X"),
        (
            "{place} FAMILY PHYSICIANS INC",
            "{place} PRIMARY CARE LLC",
            "{last} FAMILY MEDICINE",
            "{place} INTERNAL MEDICINE ASSOCIATES INC",
            "{place} PEDIATRICS INC",
            "{last} & ASSOCIATES MD INC",
        ),
    ),
    OrgKind(
        "primary",
        6.0,
        ("193200000X",),
        ("{place} MEDICAL GROUP LLC", "{place} MULTISPECIALTY PHYSICIANS INC"),
    ),
    OrgKind(
        "msk",
        9.0,
        ("193400000X", "207X00000X", "261Q00000X"),
        (
            "{place} ORTHOPAEDICS INC",
            "{place} BONE & JOINT CENTER LLC",
            "{place} SPORTS MEDICINE LLC",
            "{place} SPINE & PAIN INSTITUTE",
            "{last} ORTHOPEDIC SURGEONS INC",
        ),
    ),
    OrgKind(
        "neuro", 3.0, ("193400000X",), ("{place} NEUROLOGY INC", "{place} NEUROSURGICAL ASSOCIATES")
    ),
    OrgKind(
        "cardio", 3.0, ("193400000X",), ("{place} HEART SPECIALISTS INC", "{place} CARDIOLOGY LLC")
    ),
    OrgKind(
        "obgyn",
        4.0,
        ("193400000X", "207V00000X"),
        ("{place} WOMENS HEALTH INC", "{place} OB GYN INC"),
    ),
    OrgKind(
        "chiro",
        10.0,
        ("111N00000X", "193400000X"),
        (
            "{last} CHIROPRACTIC LLC",
            "{place} CHIROPRACTIC CENTER INC",
            "{place} SPINE & WELLNESS LLC",
        ),
    ),
    OrgKind(
        "pt",
        10.0,
        ("261QP2000X", "225100000X"),
        ("{place} PHYSICAL THERAPY LLC", "{place} REHAB & SPORTS THERAPY INC"),
    ),
    OrgKind(
        "dental",
        12.0,
        ("1223G0001X", "122300000X"),
        ("{last} FAMILY DENTISTRY LLC", "{place} DENTAL GROUP INC", "{last} DDS INC"),
    ),
    OrgKind(
        "imaging",
        4.0,
        ("261QR0200X", "261QM1200X"),
        ("{place} IMAGING CENTER LLC", "{place} OPEN MRI LLC", "{place} RADIOLOGY INC"),
    ),
    OrgKind(
        "hospital",
        6.0,
        ("282N00000X", "261Q00000X"),
        ("{place} MEDICAL CENTER", "{place} HOSPITAL"),
        subpart=True,
    ),
)


@lru_cache(maxsize=4)
def nucc_codes(nucc_file: Path) -> frozenset[str]:
    """Codes of a NUCC taxonomy CSV (``Code`` column; a UTF-8 BOM is tolerated)."""
    return frozenset(nucc_labels(Path(nucc_file)))


@lru_cache(maxsize=4)
def nucc_labels(nucc_file: Path) -> dict[str, str]:
    """``Code`` -> ``Display Name`` of a NUCC taxonomy CSV (cached: do not mutate the result)."""
    with open(nucc_file, encoding="utf-8-sig", newline="") as fh:
        return {
            row["Code"].strip(): (
                row.get("Display Name") or row.get("Classification") or ""
            ).strip()
            for row in csv.DictReader(fh)
            if row.get("Code")
        }


def check_codes(nucc_file: Path) -> None:
    """Raise :class:`~core.errors.InputError` listing every mix code absent from ``nucc_file``."""
    known = nucc_codes(Path(nucc_file))
    used: list[str] = []
    for s in INDIVIDUAL_SPECIALTIES:
        used.extend((s.code, *s.secondary))
    for k in ORG_KINDS:
        used.extend(k.codes)
    problems = [
        Problem("taxonomy code not in the NUCC file", file=str(nucc_file), field="Code", value=c)
        for c in dict.fromkeys(used)
        if c not in known
    ]
    if problems:
        raise InputError("demo specialty mix uses unknown taxonomy codes", problems=problems)


def license_numbers(rng: np.random.Generator, styles: np.ndarray) -> np.ndarray:
    """Ohio-style licence numbers for an array of licence styles.

    Ohio boards number physicians ``35.xxxxxx`` (MD) and ``34.xxxxxx`` (DO),
    physician assistants ``50.xxxxxx``, nurses ``RN.xxxxxx`` / ``APRN.CNP.xxxxxx``,
    and so on; roughly a third are written without the dot, as many providers do.

    Parameters
    ----------
    rng
        Seeded generator.
    styles
        Array of style names (see :class:`Specialty`).

    Returns
    -------
    numpy.ndarray
        Object array of licence strings, same length as ``styles``.
    """
    prefixes = {
        "md": "35",
        "do": "34",
        "pa": "50",
        "rn": "RN",
        "dc": "CHI",
        "pt": "PT",
        "dds": "30",
    }
    n = len(styles)
    digits = rng.integers(10_000, 140_000, size=n)
    dotted = rng.random(n) < 0.66
    aprn = rng.random(n) < 0.5
    out = np.empty(n, dtype=object)
    for i, (style, num, dot, ap) in enumerate(zip(styles.tolist(), digits.tolist(), dotted, aprn)):
        prefix = prefixes[style]
        if style == "rn" and ap:
            prefix = "APRN.CNP"
        body = f"{num:06d}"
        out[i] = f"{prefix}.{body}" if dot else f"{prefix}{body}"
    return out
