"""Specialty lookups: profile fit per taxonomy, primary care, clinic-usable groups.

Fit and primary-care lookups work on the *distinct* (code, classification)
pairs of a candidate frame, so scoring a million candidates costs a few
hundred dictionary look-ups plus one vectorised ``take``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import InputError, Problem
from prospects.profiles import ScoringProfile

__all__ = [
    "GROUP_RULES",
    "SpecialtyMatch",
    "match_specialty",
    "resolve_specialties",
    "specialty_groups",
]


@dataclass(frozen=True, slots=True)
class SpecialtyMatch:
    """How a taxonomy was matched against a profile's fit table.

    Attributes
    ----------
    fit
        Specialty fit in [0, 1].
    basis
        ``'code'`` (a code prefix matched), ``'classification'`` or ``'default'``.
    key
        The table key that matched (code prefix or classification name).
    label
        Human label: the classification name when known, else the code.
    primary_care
        Whether the profile counts this taxonomy as primary care.
    """

    fit: float
    basis: str
    key: str | None
    label: str
    primary_care: bool


def _clean(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def match_specialty(
    code: object, classification: object, profile: ScoringProfile
) -> SpecialtyMatch:
    """Fit of one taxonomy for a profile.

    Parameters
    ----------
    code
        NUCC taxonomy code (e.g. ``"207X00000X"``); may be missing.
    classification
        NUCC classification name; may be missing.
    profile
        The scoring profile.

    Notes
    -----
    The longest code prefix in ``profile.specialty.codes`` wins; without a
    code match the classification name (case-insensitive) is looked up; else
    ``default_fit``. Primary care is decided by the code when one is given
    (``segments.primary_care_codes``), by the classification only when the
    code is missing, so a cardiologist filed under "Internal Medicine" is not
    counted as a GP.
    """
    code_s = _clean(code)
    code_s = code_s.upper() if code_s else None
    cls_s = _clean(classification)
    label = cls_s or code_s or "unknown specialty"
    table = profile.specialty
    if code_s:
        for length in range(len(code_s), 0, -1):
            prefix = code_s[:length]
            if prefix in table.codes:
                fit, basis, key = table.codes[prefix], "code", prefix
                break
        else:
            fit, basis, key = _by_classification(cls_s, profile)
    else:
        fit, basis, key = _by_classification(cls_s, profile)
    rules = profile.segments
    if code_s:
        primary = any(code_s.startswith(p) for p in rules.primary_care_codes)
    else:
        wanted = {c.casefold() for c in rules.primary_care_classifications}
        primary = cls_s is not None and cls_s.casefold() in wanted
    return SpecialtyMatch(fit=float(fit), basis=basis, key=key, label=label, primary_care=primary)


def _by_classification(cls_s: str | None, profile: ScoringProfile) -> tuple[float, str, str | None]:
    table = profile.specialty
    if cls_s:
        folded = {k.casefold(): (k, v) for k, v in table.classifications.items()}
        hit = folded.get(cls_s.casefold())
        if hit is not None:
            return hit[1], "classification", hit[0]
    return table.default_fit, "default", None


def resolve_specialties(
    codes: pd.Series, classifications: pd.Series, profile: ScoringProfile
) -> tuple[np.ndarray, list[SpecialtyMatch]]:
    """Match every row's taxonomy, looking each distinct pair up once.

    Parameters
    ----------
    codes, classifications
        Aligned series (one entry per candidate).
    profile
        The scoring profile.

    Returns
    -------
    tuple
        ``(index, matches)``: ``matches[index[i]]`` is row *i*'s match.
    """
    code_idx, code_uniques = pd.factorize(codes, use_na_sentinel=True)
    cls_idx, cls_uniques = pd.factorize(classifications, use_na_sentinel=True)
    # -1 (missing) becomes the last slot of each axis
    code_idx = np.where(code_idx < 0, len(code_uniques), code_idx).astype(np.int64)
    cls_idx = np.where(cls_idx < 0, len(cls_uniques), cls_idx).astype(np.int64)
    combined = code_idx * (len(cls_uniques) + 1) + cls_idx
    index, pair_ids = pd.factorize(combined)
    code_values = [*code_uniques, None]
    cls_values = [*cls_uniques, None]
    width = len(cls_uniques) + 1
    matches = [
        match_specialty(code_values[int(pid) // width], cls_values[int(pid) % width], profile)
        for pid in pair_ids
    ]
    return index.astype(np.int64), matches


#: Clinic-usable group -> NUCC classification names (exact, as in NUCC v22).
GROUP_RULES: dict[str, tuple[str, ...]] = {
    "primary care": ("Family Medicine", "General Practice", "Internal Medicine", "Pediatrics"),
    "advanced practice": ("Nurse Practitioner", "Physician Assistant", "Clinical Nurse Specialist"),
    "orthopaedics": (
        "Orthopaedic Surgery",
        "Neuromusculoskeletal Medicine, Sports Medicine",
        "Neuromusculoskeletal Medicine & OMM",
    ),
    "neurology": ("Psychiatry & Neurology", "Clinical Neuropsychologist"),
    "neurosurgery": ("Neurological Surgery",),
    "pain medicine": ("Pain Medicine", "Anesthesiology"),
    "rehabilitation": (
        "Physical Medicine & Rehabilitation",
        "Physical Therapist",
        "Occupational Therapist",
        "Chiropractor",
    ),
    "podiatry": ("Podiatrist",),
    "surgery": (
        "Surgery",
        "Plastic Surgery",
        "Colon & Rectal Surgery",
        "Thoracic Surgery (Cardiothoracic Vascular Surgery)",
        "Transplant Surgery",
        "Urology",
        "Otolaryngology",
    ),
    "women's health": ("Obstetrics & Gynecology", "Advanced Practice Midwife"),
    "emergency & hospital": ("Emergency Medicine", "Hospitalist"),
    "imaging": ("Radiology", "Nuclear Medicine", "Radiologic Technologist"),
    "behavioural health": (
        "Psychologist",
        "Counselor",
        "Social Worker",
        "Marriage & Family Therapist",
    ),
}


def specialty_groups(nucc: pd.DataFrame) -> dict[str, list[str]]:
    """Clinic-usable specialty groups built from a NUCC taxonomy table.

    Parameters
    ----------
    nucc
        The NUCC taxonomy as a frame; needs a ``Classification`` column
        (matched case-insensitively, so ``classification`` works too).

    Returns
    -------
    dict
        Group name -> sorted NUCC classification names of that group that
        occur in ``nucc``. Groups follow :data:`GROUP_RULES`; a group with no
        classification present is left out. Classifications outside every
        group (dental, nursing, technicians ...) are not returned.

    Notes
    -----
    Groups are by classification, so "Internal Medicine" (primary care) also
    carries its sub-specialists such as cardiologists; use taxonomy codes
    (see :func:`match_specialty`) when that distinction matters.
    """
    column = next((c for c in nucc.columns if str(c).strip().lower() == "classification"), None)
    if column is None:
        raise InputError(
            "NUCC table has no Classification column",
            problems=[Problem("missing column", field="Classification")],
        )
    present = {str(v).strip() for v in nucc[column].dropna()}
    groups: dict[str, list[str]] = {}
    for group, names in GROUP_RULES.items():
        found = sorted(n for n in names if n in present)
        if found:
            groups[group] = found
    return groups
