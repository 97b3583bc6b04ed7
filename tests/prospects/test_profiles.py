"""Tests for prospects.profiles (versioned scoring profiles)."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from core.errors import ScoringError
from prospects.profiles import (
    PROFILE_DIR,
    ScoringProfile,
    load_profile,
    profile_from_dict,
    shipped_profiles,
)
from tests.paths import FIXTURES

NUCC_FILE = FIXTURES / "nucc_taxonomy_220.csv"


@pytest.fixture(scope="module")
def nucc() -> pd.DataFrame:
    return pd.read_csv(NUCC_FILE, dtype=str, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def mri_data() -> dict:
    return tomllib.loads((PROFILE_DIR / "imaging_mri.toml").read_text(encoding="utf-8"))


def test_shipped_profiles_load() -> None:
    assert set(shipped_profiles()) == {"imaging_mri", "orthopaedics"}
    mri = load_profile(PROFILE_DIR / "imaging_mri.toml")
    assert mri.key == "imaging_mri@1.2.0"
    assert mri.service_line == "MRI"
    assert load_profile("orthopaedics").service_line == "orthopaedics"
    # an MRI centre weighs orthopaedics and neurosurgery high, radiologists low
    assert mri.specialty.codes["207X"] == 1.0
    assert mri.specialty.codes["207T"] == 1.0
    assert mri.specialty.codes["2085"] < mri.specialty.default_fit


@pytest.mark.parametrize("name", ["imaging_mri", "orthopaedics"])
def test_every_named_code_and_classification_exists_in_nucc(name: str, nucc: pd.DataFrame) -> None:
    profile = load_profile(name)
    codes = nucc["Code"].tolist()
    classifications = set(nucc["Classification"].dropna())
    prefixes = [*profile.specialty.codes, *profile.segments.primary_care_codes]
    unknown_codes = [p for p in prefixes if not any(code.startswith(p) for code in codes)]
    names = [*profile.specialty.classifications, *profile.segments.primary_care_classifications]
    unknown_names = [n for n in names if n not in classifications]
    assert unknown_codes == []
    assert unknown_names == []


def test_profile_is_immutable() -> None:
    profile = load_profile("imaging_mri")
    with pytest.raises(ValidationError):
        profile.version = "9.9.9"  # type: ignore[misc]


def test_validation_lists_every_problem(mri_data: dict) -> None:
    data = copy.deepcopy(mri_data)
    data["weights"]["specialty"] = 0.7  # weights now sum to 1.2
    data["specialty"]["codes"]["207X"] = 1.5  # fit above 1
    data["specialty"]["classifications"]["Family Medicine"] = -0.1  # fit below 0
    data["potential"]["warm_weight"] = 0.5  # sub-weights sum to 1.2
    data["proximity"]["half_life_minutes"] = 0
    with pytest.raises(ScoringError) as info:
        profile_from_dict(data, source="broken.toml")
    fields = [p.field for p in info.value.problems]
    assert "weights" in fields
    assert "potential" in fields
    assert "specialty.codes.207X" in fields
    assert "specialty.classifications.Family Medicine" in fields
    assert "proximity.half_life_minutes" in fields
    assert all(p.file == "broken.toml" for p in info.value.problems)
    assert "1.2" in next(p.message for p in info.value.problems if p.field == "weights")


def test_weights_only_problem_is_reported_once(mri_data: dict) -> None:
    data = copy.deepcopy(mri_data)
    data["weights"]["potential"] = 0.3
    with pytest.raises(ScoringError) as info:
        profile_from_dict(data)
    assert [p.field for p in info.value.problems] == ["weights"]


def test_direct_construction_also_checks_sums(mri_data: dict) -> None:
    data = copy.deepcopy(mri_data)
    data["weights"]["potential"] = 0.3
    with pytest.raises(ValidationError):
        ScoringProfile.model_validate(data)


def test_low_fit_above_high_fit_and_bad_code_keys(mri_data: dict) -> None:
    data = copy.deepcopy(mri_data)
    data["segments"]["low_fit"] = 0.9
    data["specialty"]["codes"]["not a code"] = 0.5
    data["colour"] = "blue"  # unknown keys are refused
    with pytest.raises(ScoringError) as info:
        profile_from_dict(data)
    fields = {p.field for p in info.value.problems}
    assert {"segments.low_fit", "colour"} <= fields
    assert any(f and f.startswith("specialty.codes.not a code") for f in fields)


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "x"\nversion = \n', encoding="utf-8")
    with pytest.raises(ScoringError) as info:
        load_profile(path)
    assert info.value.problems[0].line == 2
    assert info.value.problems[0].file == "bad.toml"


def test_a_profile_that_is_not_a_table() -> None:
    with pytest.raises(ScoringError):
        profile_from_dict([])  # type: ignore[arg-type]
