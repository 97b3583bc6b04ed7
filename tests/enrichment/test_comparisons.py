"""Known-answer table of comparison levels, and the features they read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from enrichment.comparisons import comparison_levels, gamma_matrix
from enrichment.link_features import build_features
from enrichment.link_settings import LinkSettings

SETTINGS = LinkSettings.default()
COMPS = {c.name: c for c in SETTINGS.individual.comparisons}
ORG = {c.name: c for c in SETTINGS.organization.comparisons}


def level(comp, a: dict, b: dict) -> str:
    frame = pd.DataFrame([a, b])
    for col in ("first_name", "last_name", "organization_name"):
        if col not in frame:
            frame[col] = None
    feats = build_features(frame)
    lv = int(comparison_levels(comp, feats, np.array([0]), np.array([1]))[0])
    return "null" if lv == -1 else comp.levels[lv].name


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Robert", "ROBERT", "exact"),
        ("Dr. Bob", "Robert", "nickname"),
        ("Bill", "William", "nickname"),
        ("Jean-Pierre", "Jean Pierre", "exact"),
        ("J.-P.", "Jean-Pierre", "initials"),
        ("JP", "Jean Pierre", "initials"),
        ("J.", "John", "initials"),
        ("Jonh", "John", "jw>=0.92"),
        ("Mary", "Robert", "else"),
        (None, "Robert", "null"),
    ],
)
def test_first_name_levels(a, b, expected):
    assert (
        level(
            COMPS["first_name"],
            {"first_name": a, "last_name": "SMITH"},
            {"first_name": b, "last_name": "SMITH"},
        )
        == expected
    )


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Smith", "SMITH, MD", "exact"),
        ("O'Neil", "ONEIL", "exact"),
        ("Müller", "MULLER", "exact"),
        ("Smiht", "Smith", "jw>=0.93"),
        ("Garcia Lopez", "Garcia", "token_set>=90"),
        ("Jones", "Smith", "else"),
    ],
)
def test_last_name_levels(a, b, expected):
    assert (
        level(
            COMPS["last_name"],
            {"first_name": "Ann", "last_name": a},
            {"first_name": "Ann", "last_name": b},
        )
        == expected
    )


def test_swapped_names():
    a = {"first_name": "Smith", "last_name": "John"}
    b = {"first_name": "John", "last_name": "Smith"}
    assert level(COMPS["first_name"], a, b) == "swapped"
    assert level(COMPS["last_name"], a, b) == "swapped"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (
            {
                "address_1": "123 North Main Street",
                "address_2": "Suite 200",
                "postal_code": "43215",
            },
            {"address_1": "123 N MAIN ST", "address_2": "STE 200", "postal_code": "43215-1234"},
            "same_site",
        ),
        (
            {"address_1": "12 Bd Saint-Michel", "postal_code": "75005"},
            {"address_1": "12 boulevard Saint Michel", "postal_code": "75005"},
            "same_site",
        ),
        (
            {"address_1": "5 av. Jean Jaures", "phone": "01 45 67 89 10"},
            {"address_1": "5 avenue Jean Jaures", "phone": "+33 1 45 67 89 10"},
            "same_site",
        ),
        ({"phone": "(614) 555-0100"}, {"phone": "614.555.0100 x12"}, "same_phone"),
        ({"postal_code": "43215"}, {"postal_code": "43215"}, "same_zip"),
        ({"postal_code": "43215"}, {"postal_code": "43230"}, "same_zip3"),
        ({"postal_code": "43215"}, {"postal_code": "90210"}, "else"),
        ({"postal_code": "43215"}, {"phone": "6145550100"}, "null"),
    ],
)
def test_location_levels(a, b, expected):
    person = {"first_name": "Ann", "last_name": "Lee"}
    assert level(COMPS["location"], {**person, **a}, {**person, **b}) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("Capital Internal Medicine, L.L.C.", "CAPITAL INTERNAL MEDICINE INC", "exact"),
        ("Capital Internal Medicine", "Capital Internal Medicine Group", "token_set>=90"),
        ("Smith & Jones Clinic", "Jones and Smith Clinic", "token_set>=90"),
        ("Capital Imaging", "Riverside Pediatrics", "else"),
    ],
)
def test_organization_name_levels(a, b, expected):
    assert (
        level(
            ORG["organization_name"],
            {"organization_name": a, "entity_type": "organization"},
            {"organization_name": b, "entity_type": "organization"},
        )
        == expected
    )


def test_identifiers_come_from_columns_or_identifier_dicts():
    frame = pd.DataFrame(
        {
            "first_name": ["A", "B"],
            "last_name": ["X", "Y"],
            "organization_name": [None, None],
            "identifiers": [{"pp_national": "810000000011"}, {"rpps": "10000000011"}],
        }
    )
    feats = build_features(frame)
    assert feats["id_rpps"].code[0] == feats["id_rpps"].code[1] >= 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("Smiht", "John"), ("John", "Smith")),  # a typo as well
        (("Smith", "Bob"), ("Robert", "Smith")),  # a nickname as well
        (("Hermandez", "S."), ("Shirley", "Hernandez")),  # an initial and a typo
    ],
)
def test_swapped_names_with_a_typo_nickname_or_initial(a, b):
    left = {"first_name": a[0], "last_name": a[1]}
    right = {"first_name": b[0], "last_name": b[1]}
    assert level(COMPS["first_name"], left, right) == "swapped"
    assert level(COMPS["last_name"], left, right) == "swapped"
    unrelated = {"first_name": "Jones", "last_name": "Mary"}
    assert level(COMPS["first_name"], unrelated, right) != "swapped"


def test_a_swap_counts_once():
    frame = pd.DataFrame(
        [
            {"first_name": "Smith", "last_name": "John", "organization_name": None},
            {"first_name": "John", "last_name": "Smith", "organization_name": None},
        ]
    )
    gamma = gamma_matrix(SETTINGS.individual, build_features(frame), np.array([0]), np.array([1]))
    names = [c.name for c in SETTINGS.individual.comparisons]
    first, last = gamma[0, names.index("first_name")], gamma[0, names.index("last_name")]
    assert COMPS["first_name"].levels[first].name == "swapped"
    assert last == -1  # the same exchange: no second weight
