"""Catchment hexagons as GeoJSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.geojson import GeoJSONResponse
from geo.h3grid import h3_int, latlng_to_cells
from tests.api.conftest import SITES, VIEWER


def _collection(client: TestClient, path: str) -> dict:
    r = client.get(path, headers=VIEWER)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    body = json.loads(r.content)
    assert body["type"] == "FeatureCollection"
    return body


def test_site_catchments_are_polygon_features(client: TestClient) -> None:
    fc = _collection(client, "/v1/sites/AGS-N/catchments?method=drive_time&parameter=10")
    assert len(fc["features"]) == 19  # k=2 disk
    centre = int(latlng_to_cells(*SITES["AGS-N"], 8)[0])
    cells = set()
    for f in fc["features"]:
        assert f["geometry"]["type"] == "Polygon"
        props = f["properties"]
        assert props["site_code"] == "AGS-N" and props["method"] == "drive_time"
        assert props["parameter"] == 10.0
        cells.add(h3_int(props["h3"]))
        assert shapely.geometry.shape(f["geometry"]).is_valid
    assert centre in cells
    hexagon = next(f for f in fc["features"] if h3_int(f["properties"]["h3"]) == centre)
    assert shapely.geometry.shape(hexagon["geometry"]).contains(
        shapely.Point(SITES["AGS-N"][1], SITES["AGS-N"][0])
    )
    assert sum(f["properties"]["white_space"] for f in fc["features"]) > 0


def test_method_and_site_filters(client: TestClient) -> None:
    assert len(_collection(client, "/v1/sites/AGS-N/catchments")["features"]) == 7 + 19 + 19
    assert len(_collection(client, "/v1/sites/AGS-N/catchments?method=radius")["features"]) == 19
    assert (
        len(_collection(client, "/v1/catchments?method=drive_time&parameter=10")["features"])
        == 19 + 7
    )
    everything = _collection(client, "/v1/catchments")
    assert {f["properties"]["site_code"] for f in everything["features"]} == {"AGS-N", "AGS-S"}
    assert _collection(client, "/v1/catchments?parameter=42")["features"] == []


def test_catchment_errors(client: TestClient) -> None:
    r = client.get("/v1/sites/NOPE/catchments", headers=VIEWER)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.get("/v1/catchments?method=isochrone&parameter=-1", headers=VIEWER)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"query.method", "query.parameter"}


@given(
    st.lists(
        st.one_of(
            st.integers(-(2**62), 2**62),
            st.floats(allow_nan=True, allow_infinity=True),
            st.booleans(),
        ),
        max_size=10,
    )
)
def test_geojson_response_renders_numpy_values(values: list) -> None:
    arr = [np.asarray(v)[()] for v in values]
    body = json.loads(GeoJSONResponse({"v": arr, "a": np.arange(3)}).body)
    assert body["a"] == [0, 1, 2]
    for got, want in zip(body["v"], values, strict=True):
        if isinstance(want, float) and not np.isfinite(want):
            assert got is None
        else:
            assert got == pytest.approx(want)
