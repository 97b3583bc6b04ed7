"""Tests for prospects.scoring (explainable prospect scoring)."""

from __future__ import annotations

import copy
import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from core.errors import ScoringError
from core.settings import Settings
from geo.fallback import Fallback
from prospects.profiles import PROFILE_DIR, load_profile, profile_from_dict
from prospects.scoring import INPUT_COLUMNS, SEGMENTS, explain, score_prospects

MRI = load_profile("imaging_mri")
CODES = ["207X00000X", "207Q00000X", "2085R0202X", "207T00000X", "122300000X", None]
CLASSES = ["Orthopaedic Surgery", "Family Medicine", "Radiology", None, "Dentist"]


def candidate(**overrides: object) -> dict:
    base = {
        "provider_id": 1,
        "taxonomy_code": "207X00000X",
        "classification": "Orthopaedic Surgery",
        "entity_type": "1",
        "drive_minutes": 7.5,
        "distance_km": 4.0,
        "practice_size": 1,
        "org_referring": False,
    }
    return {**base, **overrides}


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(INPUT_COLUMNS))


def score_one(profile=MRI, **overrides: object) -> pd.Series:
    return score_prospects(frame(candidate(**overrides)), profile).iloc[0]


def test_worked_example() -> None:
    row = score_one(drive_minutes=7.5, practice_size=5, org_referring=True, entity_type="2")
    spec, prox, pot, rec = row["components"]
    assert spec["reason"] == "Orthopaedic Surgery: fit 1.00 for MRI imaging"
    assert prox["reason"] == "7.5 min drive, half-life 15 min"
    assert prox["value"] == pytest.approx(2**-0.5, abs=1e-4)
    # potential = 0.5 * 4/(4+4) + 0.3 * 1 + 0.2 * 1.0 = 0.75
    assert pot["value"] == pytest.approx(0.75)
    assert "organisation" in pot["reason"] and "already refers" in pot["reason"]
    assert rec["value"] == 1.0 and rec["reason"] == "never contacted, half-life 30 days"
    expected = 100 * (0.45 * 1.0 + 0.3 * 2**-0.5 + 0.15 * 0.75 + 0.1 * 1.0)
    assert row["score"] == round(expected, 1)
    assert row["segment"] == "high-potential specialist nearby"
    assert not row["proximity_estimated"]


def test_distance_fallback_is_labelled_estimated() -> None:
    # the one straight-line fallback: the settings' (1.3 circuity, 30 km/h), not a profile's own
    row = score_one(drive_minutes=np.nan, distance_km=10.0)
    s = Settings()
    minutes = 10.0 * s.fallback_circuity / s.fallback_speed_kph * 60.0
    assert row["proximity_estimated"]
    prox = row["components"][1]
    assert prox["value"] == pytest.approx(math.exp(-math.log(2) * minutes / 15.0), abs=1e-4)
    assert "estimated" in prox["reason"] and "10.0 km" in prox["reason"]
    assert f"at {s.fallback_speed_kph:g} km/h" in prox["reason"]
    slow = score_prospects(
        frame(candidate(drive_minutes=np.nan, distance_km=10.0)),
        MRI,
        fallback=Fallback(circuity=1.5, speed_kph=20.0),
    ).iloc[0]
    assert slow["components"][1]["value"] == pytest.approx(
        math.exp(-math.log(2) * 45.0 / 15.0), abs=1e-4
    )


def test_router_estimates_keep_their_flag() -> None:
    # drive minutes that the router itself estimated (site or provider off the road network)
    def one(**kw: object) -> pd.Series:
        return score_prospects(pd.DataFrame([candidate(**kw)]), MRI).iloc[0]

    row = one(drive_minutes=26.0, distance_km=10.0, proximity_estimated=True)
    assert row["proximity_estimated"]
    assert row["components"][1]["reason"].startswith("~26.0 min drive estimated from 10.0 km")
    routed = one(drive_minutes=26.0, distance_km=10.0, proximity_estimated=False)
    assert (
        not routed["proximity_estimated"] and "estimated" not in routed["components"][1]["reason"]
    )
    with pytest.raises(ScoringError) as info:
        score_prospects(pd.DataFrame([candidate(proximity_estimated="maybe")]), MRI)
    assert info.value.problems[0].field == "proximity_estimated"


def test_no_location_scores_zero_proximity() -> None:
    row = score_one(drive_minutes=np.nan, distance_km=np.nan)
    assert row["components"][1]["points"] == 0.0
    assert row["segment"] == "unlocated"
    assert not row["proximity_estimated"]


@pytest.mark.parametrize(
    ("overrides", "segment"),
    [
        (
            {"taxonomy_code": "207Q00000X", "classification": "Family Medicine"},
            "high-potential GP nearby",
        ),
        ({}, "high-potential specialist nearby"),
        ({"taxonomy_code": "207Q00000X", "drive_minutes": 40.0}, "distant GP"),
        ({"drive_minutes": 15.01}, "distant specialist"),
        ({"drive_minutes": 15.0}, "high-potential specialist nearby"),  # near is inclusive
        (
            {"taxonomy_code": "207RX0202X", "classification": "Internal Medicine"},
            "moderate-fit nearby",
        ),
        ({"taxonomy_code": "207RX0202X", "drive_minutes": 30.0}, "moderate-fit distant"),
        ({"taxonomy_code": "2085R0202X", "classification": "Radiology"}, "low-fit nearby"),
        ({"taxonomy_code": "2085R0202X", "drive_minutes": 60.0}, "low-fit distant"),
    ],
)
def test_segments(overrides: dict, segment: str) -> None:
    assert segment in SEGMENTS
    assert score_one(**overrides)["segment"] == segment


def test_explain_matches_bulk_components() -> None:
    rows = frame(
        candidate(),
        candidate(provider_id=2, drive_minutes=np.nan, distance_km=3.3, entity_type="NPI-2"),
    )
    scored = score_prospects(rows, MRI)
    for i in range(2):
        assert explain(scored.iloc[i], MRI) == scored["components"].iloc[i]
    assert explain(candidate(), MRI) == scored["components"].iloc[0]


def test_explain_false_skips_components_but_keeps_scores() -> None:
    rows = frame(candidate(), candidate(drive_minutes=30.0))
    fast = score_prospects(rows, MRI, explain=False)
    full = score_prospects(rows, MRI)
    assert "components" not in fast.columns
    assert fast["score"].tolist() == full["score"].tolist()
    assert list(rows.columns) == list(INPUT_COLUMNS)  # input not modified


def test_invalid_candidates_list_every_problem() -> None:
    bad = frame(
        candidate(
            drive_minutes=-1.0, entity_type="robot", practice_size="many", org_referring="yes"
        )
    )
    with pytest.raises(ScoringError) as info:
        score_prospects(bad, MRI)
    fields = {p.field for p in info.value.problems}
    assert fields == {"drive_minutes", "entity_type", "practice_size", "org_referring"}
    with pytest.raises(ScoringError) as info:
        score_prospects(frame(candidate()).drop(columns=["distance_km", "practice_size"]), MRI)
    assert {p.field for p in info.value.problems} == {"distance_km", "practice_size"}


candidate_frames = data_frames(
    columns=[
        column("provider_id", elements=st.integers(0, 10**9)),
        column("taxonomy_code", elements=st.sampled_from(CODES), dtype=object),
        column("classification", elements=st.sampled_from(CLASSES), dtype=object),
        column(
            "entity_type",
            elements=st.sampled_from(["1", "2", "individual", "organisation"]),
            dtype=object,
        ),
        column(
            "drive_minutes", elements=st.one_of(st.just(np.nan), st.floats(0, 500)), dtype=float
        ),
        column("distance_km", elements=st.one_of(st.just(np.nan), st.floats(0, 500)), dtype=float),
        column("practice_size", elements=st.integers(0, 5000), dtype=int),
        column("org_referring", elements=st.booleans(), dtype=bool),
        column(
            "days_since_contact",
            elements=st.one_of(st.just(np.nan), st.floats(0, 5000)),
            dtype=float,
        ),
    ],
    index=range_indexes(min_size=1, max_size=30),
)


@settings(max_examples=60, deadline=None)
@given(candidate_frames, st.sampled_from(["imaging_mri", "orthopaedics"]))
def test_points_sum_to_score(candidates: pd.DataFrame, name: str) -> None:
    scored = score_prospects(candidates, load_profile(name))
    for score, components in zip(scored["score"], scored["components"]):
        assert 0.0 <= score <= 100.0
        assert [c["name"] for c in components] == ["specialty", "proximity", "potential", "recency"]
        assert abs(sum(c["points"] for c in components) - score) <= 0.05 + 4 * 0.005 + 1e-9
        for c in components:
            assert 0.0 <= c["value"] <= 1.0
            assert c["points"] == pytest.approx(c["value"] * c["weight"] * 100, abs=0.02)
            assert c["reason"]


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0, 300),
    st.floats(0, 300),
    st.booleans(),
    st.sampled_from(CODES),
)
def test_closer_never_scores_lower(a: float, b: float, by_distance: bool, code: str | None) -> None:
    near, far = sorted([a, b])
    field = "distance_km" if by_distance else "drive_minutes"
    other = "drive_minutes" if by_distance else "distance_km"
    rows = frame(
        candidate(taxonomy_code=code, **{field: near, other: np.nan}),
        candidate(taxonomy_code=code, **{field: far, other: np.nan}),
    )
    scores = score_prospects(rows, MRI, explain=False)["score"].tolist()
    assert scores[0] >= scores[1]


MRI_DATA = tomllib.loads((PROFILE_DIR / "imaging_mri.toml").read_text(encoding="utf-8"))


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 120))
def test_higher_fit_never_scores_lower(f1: float, f2: float, minutes: float) -> None:
    low, high = sorted([f1, f2])
    data = copy.deepcopy(MRI_DATA)
    data["specialty"]["codes"] = {"AAA": low, "BBB": high}
    profile = profile_from_dict(data)
    rows = frame(
        candidate(taxonomy_code="AAA00000X", drive_minutes=minutes),
        candidate(taxonomy_code="BBB00000X", drive_minutes=minutes),
    )
    scores = score_prospects(rows, profile, explain=False)["score"].tolist()
    assert scores[1] >= scores[0]


def test_bigger_practice_and_warm_intro_never_lower() -> None:
    rows = frame(
        candidate(practice_size=1),
        candidate(practice_size=10),
        candidate(practice_size=10, org_referring=True),
    )
    scores = score_prospects(rows, MRI, explain=False)["score"].tolist()
    assert scores[0] < scores[1] < scores[2]


@pytest.mark.slow
def test_million_candidates_score() -> None:
    """A million candidates in one call (how long it takes is measured by bench.units)."""
    n = 1_000_000
    rng = np.random.default_rng(7)
    candidates = pd.DataFrame(
        {
            "provider_id": np.arange(n),
            "taxonomy_code": rng.choice(np.array(CODES[:-1], dtype=object), n),
            "classification": rng.choice(np.array(CLASSES, dtype=object), n),
            "entity_type": rng.choice(np.array(["1", "2"], dtype=object), n),
            "drive_minutes": np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 60, n)),
            "distance_km": rng.uniform(0, 40, n),
            "practice_size": rng.integers(1, 30, n),
            "org_referring": rng.random(n) < 0.1,
        }
    )
    scored = score_prospects(candidates, MRI, explain=False)
    assert scored["score"].between(0, 100).all()
    assert scored["proximity_estimated"].sum() == np.isnan(candidates["drive_minutes"]).sum()


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 3000), st.floats(0, 3000))
def test_recent_contact_never_scores_higher(a: float, b: float) -> None:
    recent, older = sorted([a, b])
    rows = pd.DataFrame(
        [
            candidate(days_since_contact=recent),
            candidate(days_since_contact=older),
            candidate(days_since_contact=np.nan),
        ]
    )
    scored = score_prospects(rows, MRI)
    assert scored["score"].iloc[0] <= scored["score"].iloc[1] <= scored["score"].iloc[2]


def test_recency_half_life_and_reason() -> None:
    row = score_prospects(pd.DataFrame([candidate(days_since_contact=30.0)]), MRI).iloc[0]
    rec = row["components"][3]
    assert rec["value"] == pytest.approx(0.5)
    assert rec["points"] == pytest.approx(0.5 * 0.1 * 100)
    assert rec["reason"] == "last contact 30 days ago, half-life 30 days"
    # the same row through explain() gives the same components
    assert explain({**candidate(), "days_since_contact": 30.0}, MRI) == row["components"]


def test_profile_without_recency_weight_still_valid() -> None:
    data = tomllib.loads((PROFILE_DIR / "imaging_mri.toml").read_text())
    data["weights"] = {"specialty": 0.5, "proximity": 0.3, "potential": 0.2}
    del data["recency"]
    profile = profile_from_dict(data)
    assert profile.weights.recency == 0.0
    row = score_prospects(frame(candidate()), profile).iloc[0]
    assert row["components"][3]["points"] == 0.0
