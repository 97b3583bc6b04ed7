"""Tests for prospects.specialties (fit lookup, specialty groups)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from prospects.profiles import load_profile
from prospects.specialties import (
    GROUP_RULES,
    match_specialty,
    resolve_specialties,
    specialty_groups,
)
from tests.paths import FIXTURES

NUCC_FILE = FIXTURES / "nucc_taxonomy_220.csv"


@pytest.fixture(scope="module")
def nucc() -> pd.DataFrame:
    return pd.read_csv(NUCC_FILE, dtype=str, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def mri():
    return load_profile("imaging_mri")


def test_groups_from_real_nucc(nucc: pd.DataFrame) -> None:
    groups = specialty_groups(nucc)
    assert groups["primary care"] == [
        "Family Medicine",
        "General Practice",
        "Internal Medicine",
        "Pediatrics",
    ]
    assert "Orthopaedic Surgery" in groups["orthopaedics"]
    assert groups["neurology"] == ["Clinical Neuropsychologist", "Psychiatry & Neurology"]
    assert groups["neurosurgery"] == ["Neurological Surgery"]
    # every rule name is a real NUCC v22 classification
    present = set(nucc["Classification"])
    assert [n for names in GROUP_RULES.values() for n in names if n not in present] == []


def test_groups_only_list_present_classifications() -> None:
    small = pd.DataFrame({"classification": ["Podiatrist", "Dentist"]})
    assert specialty_groups(small) == {"podiatry": ["Podiatrist"]}


def test_groups_need_a_classification_column() -> None:
    with pytest.raises(InputError):
        specialty_groups(pd.DataFrame({"Code": ["207X00000X"]}))


def test_longest_code_prefix_wins(mri) -> None:
    assert match_specialty("207QS0010X", "Family Medicine", mri).key == "207QS0010X"
    assert match_specialty("207Q00000X", "Family Medicine", mri).key == "207Q"
    assert match_specialty("207QS0010X", None, mri).fit == 0.95
    assert match_specialty("207q00000x", None, mri).fit == 0.75  # case-insensitive


def test_classification_fallback_and_default(mri) -> None:
    by_cls = match_specialty(None, "orthopaedic surgery", mri)
    assert (by_cls.basis, by_cls.fit, by_cls.key) == ("classification", 1.0, "Orthopaedic Surgery")
    unknown = match_specialty("999999999X", "Dentist", mri)
    assert (unknown.basis, unknown.fit) == ("default", mri.specialty.default_fit)
    assert match_specialty(np.nan, None, mri).label == "unknown specialty"


def test_primary_care_by_code_first(mri) -> None:
    assert match_specialty("207Q00000X", None, mri).primary_care
    # a cardiologist filed under Internal Medicine is not a GP
    assert not match_specialty("207RC0000X", "Internal Medicine", mri).primary_care
    assert match_specialty(None, "Family Medicine", mri).primary_care


def test_resolve_matches_each_row(mri) -> None:
    codes = pd.Series(["207X00000X", None, "207X00000X", None])
    classes = pd.Series(["Orthopaedic Surgery", "Family Medicine", None, None])
    index, matches = resolve_specialties(codes, classes, mri)
    fits = [matches[i].fit for i in index]
    assert fits == [1.0, 0.75, 1.0, mri.specialty.default_fit]
    assert len(matches) == 4 and index[0] != index[2]  # labels differ, so pairs differ
