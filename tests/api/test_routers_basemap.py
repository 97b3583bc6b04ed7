"""GET /v1/map/roads: the app's offline base map from the OSM extract, per view, bounded."""

from __future__ import annotations

import shapely
from fastapi.testclient import TestClient

from api.geojson import RoadCollection
from maps.basemap import ROAD_FEATURE_CAP
from tests.api.conftest import LIAISON, SITES, VIEWER

LAT, LON = SITES["AGS-N"]
VIEW = {"west": LON - 0.02, "south": LAT - 0.02, "east": LON + 0.02, "north": LAT + 0.02}


def test_the_roads_of_a_view(client: TestClient) -> None:
    r = client.get("/v1/map/roads", params={**VIEW, "zoom": 15}, headers=LIAISON)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body = RoadCollection.model_validate(r.json())
    assert body.features and len(body.features) <= ROAD_FEATURE_CAP and body.cap == ROAD_FEATURE_CAP
    view = shapely.box(VIEW["west"], VIEW["south"], VIEW["east"], VIEW["north"])
    assert all(
        shapely.geometry.shape(f.geometry.model_dump()).intersects(view.buffer(0.01))
        for f in body.features
    )
    # zoomed out: the major classes only, and never more lines
    out = client.get("/v1/map/roads", params={**VIEW, "zoom": 11}, headers=VIEWER).json()
    assert len(out["features"]) < len(body.features)
    assert {f["properties"]["highway"] for f in out["features"]} <= {
        "motorway",
        "trunk",
        "primary",
        "secondary",
    }


def test_a_view_off_the_extract_is_empty(client: TestClient) -> None:
    r = client.get(
        "/v1/map/roads",
        params={"west": 10, "south": 10, "east": 11, "north": 11, "zoom": 14},
        headers=VIEWER,
    )
    assert r.status_code == 200 and r.json()["features"] == []


def test_a_bad_view_is_refused_naming_the_field(client: TestClient) -> None:
    upside = {**VIEW, "west": VIEW["east"] + 1, "zoom": 12}
    r = client.get("/v1/map/roads", params=upside, headers=VIEWER)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "west"
    r = client.get("/v1/map/roads", params={**VIEW}, headers=VIEWER)  # no zoom
    assert r.status_code == 422
    r = client.get("/v1/map/roads", params={**VIEW, "zoom": 30}, headers=VIEWER)
    assert r.status_code == 422


def test_signed_out_is_401(client: TestClient) -> None:
    assert client.get("/v1/map/roads", params={**VIEW, "zoom": 12}).status_code == 401
