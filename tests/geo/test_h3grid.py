from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import GeoError
from geo.distance import haversine_km
from geo.h3grid import (
    cell_polygon,
    cell_to_latlng,
    cells_to_geodataframe,
    cells_to_geometry,
    cells_within_km,
    grid_disk,
    h3_int,
    h3_str,
    latlng_to_cells,
)

lats = st.floats(-85, 85, allow_nan=False)
lons = st.floats(-179.5, 179.5, allow_nan=False)
resolutions = st.integers(0, 15)


@given(lats, lons, resolutions)
def test_point_cell_centre_round_trip(lat, lon, res):
    cell = latlng_to_cells(lat, lon, res)
    assert cell.dtype == np.int64 and cell.shape == (1,)
    clat, clon = cell_to_latlng(cell)
    assert latlng_to_cells(clat, clon, res)[0] == cell[0]
    poly = cell_polygon(int(cell[0]))
    # coarser cells have geodesic edges that a planar lon/lat polygon bends away from, and
    # cells across the antimeridian are not split (documented limitation)
    if res >= 4 and poly.bounds[2] - poly.bounds[0] < 180:
        assert poly.buffer(1e-9).contains(shapely.Point(clon[0], clat[0]))


@given(lats, lons, resolutions)
def test_str_int_round_trip(lat, lon, res):
    cell = int(latlng_to_cells(lat, lon, res)[0])
    s = h3_str(cell)
    assert isinstance(s, str) and h3_int(s) == cell
    assert h3_int(s.upper()) == cell


def test_known_cell():
    # h3 docs example: (37.7752702151959, -122.418307270836) at res 9
    assert (
        h3_str(int(latlng_to_cells(37.7752702151959, -122.418307270836, 9)[0])) == "8928308280fffff"
    )


def test_vectorised():
    cells = latlng_to_cells(pd.Series([39.96, 39.97]), np.array([-83.0, -83.0]), 8)
    assert cells.shape == (2,) and cells[0] != cells[1]


def test_invalid_coordinates_name_every_index():
    with pytest.raises(GeoError) as info:
        latlng_to_cells([10, 91, 0, np.nan], [10, 0, -181, 5], 8)
    msgs = [p.message for p in info.value.problems]
    assert len(msgs) == 3
    assert (
        msgs[0].startswith("index 1")
        and msgs[1].startswith("index 2")
        and msgs[2].startswith("index 3")
    )
    assert [p.field for p in info.value.problems] == ["lat", "lon", "lat"]


def test_bad_resolution_and_types():
    with pytest.raises(GeoError):
        latlng_to_cells(0, 0, 16)
    with pytest.raises(GeoError) as info:
        latlng_to_cells(0, 0, 8.0)  # a float resolution is refused, not truncated
    assert [p.field for p in info.value.problems] == ["res"]
    with pytest.raises(GeoError):
        latlng_to_cells("x", 0, 8)
    with pytest.raises(GeoError):
        h3_int("not-a-cell")
    with pytest.raises(GeoError):
        h3_str(12345)
    with pytest.raises(GeoError):
        cell_to_latlng([8.85e17])  # float cells would be truncated into other cells


@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_grid_disk_size(k):
    cell = int(latlng_to_cells(39.96, -83.0, 8)[0])
    disk = grid_disk(cell, k)
    assert disk.size == 1 + 3 * k * (k + 1)
    assert cell in disk


@settings(max_examples=25, deadline=None)
@given(st.floats(30, 50), st.floats(-120, -70), st.floats(0.2, 6.0), st.integers(6, 9))
def test_cells_within_km_is_exact(lat, lon, km, res):
    got = cells_within_km(lat, lon, km=km, res=res)
    assert got["h3"].dtype == np.int64
    assert got["distance_km"].is_monotonic_increasing
    origin = int(latlng_to_cells(lat, lon, res)[0])
    inside = got[got["h3"] != origin]
    assert (inside["distance_km"] <= km).all()
    # brute force over a generous disk: nothing within km is missing
    edge_km = {6: 3.7, 7: 1.4, 8: 0.53, 9: 0.2}[res]
    big = grid_disk(origin, int(km / (edge_km * 1.2)) + 4)
    clat, clon = cell_to_latlng(big)
    expected = set(big[haversine_km(lat, lon, clat, clon) <= km].tolist()) | {origin}
    assert set(got["h3"].tolist()) == expected


def test_cells_within_km_rejects_bad_radius():
    with pytest.raises(GeoError):
        cells_within_km(0, 0, km=0, res=8)
    for km in ("5", True, float("inf")):
        with pytest.raises(GeoError) as info:
            cells_within_km(0, 0, km=km, res=8)
        assert [p.field for p in info.value.problems] == ["km"]


def test_cells_to_geometry_is_the_union():
    cells = grid_disk(int(latlng_to_cells(39.96, -83.0, 9)[0]), 3)
    outline = cells_to_geometry(cells)
    union = shapely.union_all([cell_polygon(int(c)) for c in cells])
    assert outline.geom_type == "Polygon"
    assert outline.symmetric_difference(union).area < 1e-6 * union.area
    two = cells_to_geometry([cells[0], int(latlng_to_cells(40.5, -83.0, 9)[0])])
    assert two.geom_type == "MultiPolygon"
    assert cells_to_geometry([]).is_empty


def test_cells_to_geodataframe():
    cells = grid_disk(int(latlng_to_cells(39.96, -83.0, 8)[0]), 1)
    gdf = cells_to_geodataframe(cells, score=np.arange(cells.size))
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == 7
    assert list(gdf.columns) == ["h3", "score", "geometry"]
    assert gdf.geometry.is_valid.all()
    with pytest.raises(ValueError):
        cells_to_geodataframe(cells, score=[1, 2])
    by_str = cells_to_geodataframe([h3_str(int(c)) for c in cells])
    assert by_str["h3"].tolist() == cells.tolist()


def test_cells_in_box_cover_every_point_of_it_or_refuse_a_large_box():
    from geo.h3grid import cells_in_box

    box = {"west": -83.02, "south": 39.89, "east": -82.98, "north": 39.91}
    cells = cells_in_box(**box, res=7, max_cells=100)
    rng = np.random.default_rng(4)
    lat = rng.uniform(box["south"], box["north"], 2000)
    lon = rng.uniform(box["west"], box["east"], 2000)
    corners = latlng_to_cells([39.89, 39.91, 39.89, 39.91], [-83.02, -83.02, -82.98, -82.98], 7)
    assert set(latlng_to_cells(lat, lon, 7)) | set(corners) <= set(cells.tolist())
    assert cells_in_box(west=-180, south=-90, east=180, north=90, res=7, max_cells=1000) is None
    with pytest.raises(GeoError):
        cells_in_box(west=1, south=0, east=0, north=1, res=7, max_cells=100)
