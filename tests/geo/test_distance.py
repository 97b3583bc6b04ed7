from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import GeoError
from geo.distance import haversine_km, validate_coordinates

lats = st.floats(-89.9, 89.9, allow_nan=False)
lons = st.floats(-179.9, 179.9, allow_nan=False)


def test_one_degree_of_latitude():
    assert haversine_km(0, 0, 1, 0)[0] == pytest.approx(111.195, abs=0.01)


def test_known_city_pair():
    # Columbus OH (39.9612, -82.9988) to Cleveland OH (41.4993, -81.6944): about 203 km
    assert haversine_km(39.9612, -82.9988, 41.4993, -81.6944)[0] == pytest.approx(203.0, abs=2.0)


def test_vectorised_and_broadcast():
    d = haversine_km(0.0, 0.0, [0.0, 1.0, 2.0], [0.0, 0.0, 0.0])
    assert d.shape == (3,)
    assert d[0] == 0 and d[1] < d[2]


def test_nan_propagates_and_types():
    assert np.isnan(haversine_km(np.nan, 0, 0, 0)[0])
    with pytest.raises(GeoError) as info:
        haversine_km("a", 0, 0, 0)
    assert [p.field for p in info.value.problems] == ["lat1"]
    with pytest.raises(GeoError):
        haversine_km([0.0, "north"], 0, 0, 0)


@given(lats, lons, lats, lons)
def test_symmetric_and_bounded(a, b, c, d):
    ab = haversine_km(a, b, c, d)[0]
    ba = haversine_km(c, d, a, b)[0]
    assert ab == pytest.approx(ba, abs=1e-6)
    assert 0 <= ab <= np.pi * 6371.0088 + 1e-6


@given(lats, lons, lats, lons, lats, lons)
def test_triangle_inequality(a, b, c, d, e, f):
    assert (
        haversine_km(a, b, e, f)[0]
        <= haversine_km(a, b, c, d)[0] + haversine_km(c, d, e, f)[0] + 1e-6
    )


def test_validate_collects_every_problem():
    problems = validate_coordinates([10, 95, np.nan, 0, 40], [10, 10, 10, 0, 200])
    messages = [p.message for p in problems]
    assert len(problems) == 4
    assert messages[0].startswith("index 1") and "latitude" in messages[0]
    assert messages[1].startswith("index 2") and "missing" in messages[1]
    assert messages[2].startswith("index 3") and "placeholder" in messages[2]
    assert messages[3].startswith("index 4") and problems[3].field == "lon"


def test_validate_bounds_and_lines():
    problems = validate_coordinates(
        [40.0, 39.96], [-83.0, -80.0], bounds=(-83.2, 39.8, -82.7, 40.2), file="f.csv", lines=[2, 3]
    )
    assert len(problems) == 1
    assert problems[0].line == 3 and problems[0].file == "f.csv"


def test_validate_allow_missing():
    assert validate_coordinates([np.nan], [np.nan], allow_missing=True) == []
    assert len(validate_coordinates([np.nan], [1.0], allow_missing=True)) == 1
