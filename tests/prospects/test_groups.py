"""Specialty groups: loading, resolution against NUCC, and use in scoring profiles."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import ScoringError
from prospects.groups import expand_profile, load_groups, resolve_groups
from prospects.profiles import load_profile
from prospects.specialties import match_specialty
from tests.paths import FIXTURES

NUCC = FIXTURES / "nucc_taxonomy_220.csv"


@pytest.fixture(scope="module")
def taxonomy() -> dict[str, str]:
    frame = pd.read_csv(NUCC, dtype=str)
    return dict(zip(frame["Code"], frame["Classification"], strict=True))


def test_shipped_groups_resolve_against_nucc_22(taxonomy) -> None:
    resolved = resolve_groups(load_groups(), taxonomy)
    assert "207X00000X" in resolved["orthopaedics"]  # by classification
    assert "2081S0010X" in resolved["orthopaedics"]  # by code prefix
    assert "225X00000X" in resolved["rehabilitation"]  # occupational therapist


def test_typos_are_listed_not_silently_empty(tmp_path, taxonomy) -> None:
    bad = tmp_path / "groups.toml"
    bad.write_text(
        'name = "x"\nversion = "1.0"\n[groups.ortho]\nclassifications = ["Orthopedic Surgery"]\n'
        'codes = ["ZZZ"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ScoringError) as info:
        resolve_groups(load_groups(bad), taxonomy)
    assert {p.value for p in info.value.problems} == {"Orthopedic Surgery", "ZZZ"}


def test_profile_groups_fill_codes_explicit_prefixes_win(taxonomy) -> None:
    profile = load_profile("orthopaedics")
    expanded = expand_profile(profile, resolve_groups(load_groups(), taxonomy))
    # occupational therapist: only the rehabilitation group covers it
    assert match_specialty("225X00000X", "Occupational Therapist", expanded).fit == 0.7
    assert (
        match_specialty("225X00000X", "Occupational Therapist", profile).fit
        == profile.specialty.default_fit
    )
    # physical therapist: the profile's own "2251" prefix wins over the group
    assert match_specialty("225100000X", "Physical Therapist", expanded).fit == 0.7
    assert match_specialty("2251X0800X", "Physical Therapist", expanded).fit == 0.8
    # obstetrics: explicit "207V" = 0.3 stays
    assert match_specialty("207V00000X", "Obstetrics & Gynecology", expanded).fit == 0.3


def test_unknown_group_in_profile(taxonomy) -> None:
    profile = load_profile("orthopaedics")
    with pytest.raises(ScoringError, match="unknown specialty groups"):
        expand_profile(profile, {"rehabilitation": frozenset()})
