"""Small synthetic inputs for the map tests, placed over West Oakland (tests/fixtures/osm)."""

from __future__ import annotations

import geopandas as gpd
import h3
import numpy as np
import osmnx as ox
import pytest
from shapely.geometry import Point, Polygon

from tests.paths import FIXTURES

DATA = FIXTURES
CENTER = (37.8105, -122.2995)  # lat, lng inside West-Oakland.osm.bz2


def make_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": [1, 2],
            "site_code": ["WOAK", "EAST"],
            "name": ["West Oakland <PT>", "East & Sons Clinic"],
            "service_line": ["Physical therapy", "Orthopaedics"],
        },
        geometry=[Point(CENTER[1], CENTER[0]), Point(CENTER[1] + 0.008, CENTER[0] + 0.003)],
        crs=4326,
    )


def make_hexes() -> gpd.GeoDataFrame:
    rows = []
    for code, (lat, lng) in (("WOAK", CENTER), ("EAST", (CENTER[0] + 0.003, CENTER[1] + 0.008))):
        origin = h3.latlng_to_cell(lat, lng, 9)
        for method, param, k in (
            ("drive_time", 5.0, 1),
            ("drive_time", 10.0, 2),
            ("radius", 2.0, 2),
        ):
            for i, cell in enumerate(sorted(h3.grid_disk(origin, k))):
                ring = h3.cell_to_boundary(cell)
                rows.append(
                    {
                        "h3": cell,
                        "site_code": code,
                        "method": method,
                        "parameter": param,
                        "white_space": i % 7,
                        "truncated": code == "EAST" and param == 10.0 and i == 0,
                        "geometry": Polygon([(b, a) for a, b in ring]),
                    }
                )
    return gpd.GeoDataFrame(rows, crs=4326)


def make_prospects(n: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lat = CENTER[0] + rng.normal(0, 0.003, n)
    lng = CENTER[1] + rng.normal(0, 0.004, n)
    names = [f"Provider {i}" for i in range(n)]
    names[0] = "Dr <script>alert(1)</script> & Co"
    components = [
        [
            {
                "name": "referral_volume",
                "value": int(rng.integers(0, 90)),
                "weight": 0.5,
                "points": float(rng.uniform(0, 50)),
                "reason": "claims in last 365 days",
            },
            {
                "name": "drive_time",
                "value": float(rng.uniform(1, 20)),
                "weight": 0.3,
                "points": float(rng.uniform(0, 30)),
                "reason": "minutes <= 10 to site",
            },
            {
                "name": "specialty_fit",
                "value": "207X00000X",
                "weight": 0.2,
                "points": 20.0,
                "reason": "orthopaedic surgery",
            },
        ]
        for _ in range(n)
    ]
    return gpd.GeoDataFrame(
        {
            "provider_id": list(range(1, n + 1)),
            "npi": [str(1_000_000_000 + i) for i in range(n)],
            "name": names,
            "specialty": ["Orthopaedic Surgery"] * n,
            "score": rng.uniform(0, 100, n).round(1),
            "segment": ["white_space"] * n,
            "drive_minutes": np.where(np.arange(n) % 5 == 0, np.nan, rng.uniform(1, 20, n)),
            "site_code": ["WOAK"] * n,
            "components": components,
        },
        geometry=gpd.points_from_xy(lng, lat),
        crs=4326,
    )


@pytest.fixture(scope="session")
def oakland_roads() -> gpd.GeoDataFrame:
    graph = ox.graph_from_xml(DATA / "osm" / "West-Oakland.osm.bz2")
    return ox.graph_to_gdfs(graph, nodes=False)[["highway", "geometry"]]


@pytest.fixture
def sites() -> gpd.GeoDataFrame:
    return make_sites()


@pytest.fixture
def hexes() -> gpd.GeoDataFrame:
    return make_hexes()


@pytest.fixture
def prospects() -> gpd.GeoDataFrame:
    return make_prospects(40)
