"""Tests of French postal-code centroids on a 19-row GeoNames subset and the bundled table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.distance import haversine_km
from geo.fr_postal import (
    FR_POSTAL_TABLE,
    fold_place_name,
    fr_postal_centroid,
    is_overseas,
)
from tests.paths import FIXTURES

SUBSET = FIXTURES / "fr_postal_codes_geonames_subset.csv"


def test_paris_first_arrondissement_averages_its_two_places():
    lat, lon = fr_postal_centroid("75001", path=SUBSET)
    assert lat == pytest.approx((48.8534 + 48.8592) / 2)
    assert lon == pytest.approx((2.3488 + 2.3417) / 2)
    assert haversine_km(lat, lon, 48.86, 2.35) < 1.5


def test_place_picks_the_matching_commune_after_folding():
    assert fr_postal_centroid("01090", place="GUEREINS", path=SUBSET) == (46.1035, 4.7727)
    assert fr_postal_centroid("01090", place="montmerle sur saone", path=SUBSET) == (
        46.0833,
        4.7667,
    )
    assert fr_postal_centroid("42000", place="ST ETIENNE CEDEX 1", path=SUBSET) == (45.4339, 4.39)


def test_unmatched_place_falls_back_to_the_mean_of_all_places():
    # the code's places, read straight from the subset (postal_code, place_name, ..., latitude, longitude)
    rows = [line.split(",") for line in SUBSET.read_text(encoding="utf-8").splitlines()[1:]]
    places = [(r[1], float(r[3]), float(r[4])) for r in rows if r[0] == "01090"]
    assert len(places) == 6
    lat, lon = fr_postal_centroid("01090", place="Nowhere", path=SUBSET)
    assert lat == pytest.approx(sum(p[1] for p in places) / 6)
    assert lon == pytest.approx(sum(p[2] for p in places) / 6)


def test_cedex_codes_resolve_by_their_five_digits():
    assert fr_postal_centroid("75851 CEDEX 17", path=SUBSET) == (48.8835, 2.3219)
    assert fr_postal_centroid("75851", path=SUBSET) == (48.8835, 2.3219)


def test_overseas_codes_are_flagged_and_not_placed():
    for code in ("97400", "97159", "98000", "97600"):
        assert is_overseas(code)
        assert fr_postal_centroid(code) is None
    assert not is_overseas("75001") and not is_overseas("20000") and not is_overseas("abc")


def test_unknown_and_malformed_codes_give_none():
    assert fr_postal_centroid("99999", path=SUBSET) is None
    assert fr_postal_centroid("7500", path=SUBSET) is None
    assert fr_postal_centroid("", path=SUBSET) is None


def test_bundled_table_known_answers():
    assert FR_POSTAL_TABLE.is_file()
    lat, lon = fr_postal_centroid("75001")
    assert lat == pytest.approx(48.86, abs=0.02) and lon == pytest.approx(2.35, abs=0.02)
    lat, lon = fr_postal_centroid("20000")  # Ajaccio, Corsica
    assert haversine_km(lat, lon, 41.92, 8.74) < 3
    lat, lon = fr_postal_centroid("13001", place="Marseille")
    assert haversine_km(lat, lon, 43.297, 5.381) < 1


def test_fold_place_name_examples():
    assert fold_place_name("Saint-Étienne") == "SAINT ETIENNE"
    assert fold_place_name("  ste-foy-lès-lyon ") == "SAINTE FOY LES LYON"
    assert fold_place_name("PARIS CEDEX 14") == "PARIS"


@given(st.text(max_size=30))
def test_fold_place_name_is_idempotent_and_ascii(name):
    folded = fold_place_name(name)
    assert fold_place_name(folded) == folded
    assert folded == folded.strip() and folded.isascii()
