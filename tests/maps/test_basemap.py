"""The app's offline base map: roads per view, classes by zoom, bounded answers."""

from __future__ import annotations

import itertools

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Point

from core.errors import InputError
from maps.basemap import ROAD_FEATURE_CAP, RoadIndex, classes_at_zoom
from maps.layers import ROAD_STYLES
from tests.maps.conftest import CENTER


def test_more_classes_closer_in() -> None:
    seen = [classes_at_zoom(z) for z in range(0, 20)]
    assert all(a <= b for a, b in itertools.pairwise(seen))
    assert "motorway" in seen[0] and "residential" not in seen[0]
    assert seen[14] == frozenset(ROAD_STYLES)


def test_a_view_holds_the_roads_crossing_it_once_major_first() -> None:
    a = LineString([(0, 0), (0.001, 0.001)])
    roads = gpd.GeoDataFrame(
        {"highway": ["residential", "residential", "primary", "motorway_link"]},
        geometry=[a, a.reverse(), LineString([(0, 0), (0.002, 0)]), LineString([(5, 5), (6, 6)])],
        crs=4326,
    )
    index = RoadIndex(roads)
    fc = index.view(west=-0.01, south=-0.01, east=0.01, north=0.01, zoom=16)
    assert [f["properties"]["highway"] for f in fc["features"]] == ["primary", "residential"]
    assert fc["features"][0]["properties"]["weight"] == ROAD_STYLES["primary"][0]
    assert not fc["truncated"] and fc["cap"] == ROAD_FEATURE_CAP
    # zoomed out, the residential street is left out
    far = index.view(west=-0.01, south=-0.01, east=0.01, north=0.01, zoom=9)
    assert [f["properties"]["highway"] for f in far["features"]] == []
    mid = index.view(west=-0.01, south=-0.01, east=0.01, north=0.01, zoom=11)
    assert [f["properties"]["highway"] for f in mid["features"]] == ["primary"]


def test_a_view_is_capped_keeping_the_major_roads(oakland_roads) -> None:
    index = RoadIndex(oakland_roads)
    lat, lon = CENTER
    box = {"west": lon - 0.05, "south": lat - 0.05, "east": lon + 0.05, "north": lat + 0.05}
    whole = index.view(**box, zoom=16)
    assert len(whole["features"]) > 50 and not whole["truncated"]
    capped = index.view(**box, zoom=16, cap=20)
    assert len(capped["features"]) == 20 and capped["truncated"]
    rank = list(ROAD_STYLES)
    kept = [rank.index(f["properties"]["highway"]) for f in capped["features"]]
    assert kept == sorted(kept) and max(kept) <= min(
        rank.index(f["properties"]["highway"]) for f in whole["features"][20:]
    )
    # simplified for the zoom: fewer vertices zoomed out, never more
    coarse = index.view(**box, zoom=12)
    count = sum(
        len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"])))
        for f in coarse["features"]
    )
    fine = sum(
        len(shapely.get_coordinates(shapely.geometry.shape(f["geometry"])))
        for f in whole["features"]
    )
    assert count < fine
    # a view away from the extract holds nothing
    assert index.view(west=10, south=10, east=11, north=11, zoom=16)["features"] == []


def test_points_are_refused() -> None:
    with pytest.raises(InputError):
        RoadIndex(gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[Point(0, 0)], crs=4326))
