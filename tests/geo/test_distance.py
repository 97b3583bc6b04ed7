from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import GeoError
from geo.distance import bounding_box, haversine_km, validate_coordinates

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


@given(lats, lons, st.floats(0.0, 3000.0), st.floats(0.0, 360.0), st.floats(0.0, 1.0))
def test_a_bounding_box_holds_every_point_within_its_radius(lat, lon, km, bearing, share):
    """A point ``share * km`` away on any bearing (the spherical destination formula) is in it."""
    west, south, east, north = bounding_box(lat, lon, km)
    d = share * km / 6371.0088
    phi, lam, theta = np.radians(lat), np.radians(lon), np.radians(bearing)
    to_phi = np.arcsin(np.sin(phi) * np.cos(d) + np.cos(phi) * np.sin(d) * np.cos(theta))
    to_lam = lam + np.arctan2(
        np.sin(theta) * np.sin(d) * np.cos(phi), np.cos(d) - np.sin(phi) * np.sin(to_phi)
    )
    to_lat = float(np.degrees(to_phi))
    to_lon = (float(np.degrees(to_lam)) + 540.0) % 360.0 - 180.0
    assert south - 1e-9 <= to_lat <= north + 1e-9
    assert west - 1e-9 <= to_lon <= east + 1e-9


def test_a_bounding_box_is_tight_away_from_poles_and_whole_around_them():
    west, south, east, north = bounding_box(40.0, -83.0, 111.195)  # one degree of latitude
    assert (south, north) == pytest.approx((39.0, 41.0), abs=1e-3)
    assert east - (-83.0) == pytest.approx(-83.0 - west)
    assert 1.3 < east + 83.0 < 1.32  # 1 / cos(40 degrees), a little more at the tangent point
    assert bounding_box(89.5, 10.0, 100.0) == (-180.0, pytest.approx(88.6, abs=0.01), 180.0, 90.0)
    assert bounding_box(0.0, 179.9, 50.0)[::2] == (-180.0, 180.0)  # across the antimeridian
    assert bounding_box(10.0, 20.0, 0.0) == (20.0, 10.0, 20.0, 10.0)
    with pytest.raises(ValueError):
        bounding_box(10.0, 20.0, float("nan"))
