"""Isochrones, nearest-site assignment and overlap, checked by hand and against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from core.errors import GeoError, TerritoryError
from geo.distance import haversine_km
from geo.fallback import Fallback
from geo.h3grid import cell_to_latlng, latlng_to_cells
from geo.road_router import RoadRouter
from territories.isochrones import (
    catchment_overlap,
    nearest_site_for_cells,
    nearest_site_for_points,
    site_isochrones,
)
from tests.handgraph import XY, cell_of


@pytest.fixture
def hand_router(hand):
    return RoadRouter.from_graph(hand, edge_m=1.0)


def test_hand_isochrone_cells_and_minutes(hand, hand_router):
    x, y = XY[1]
    sites = pd.DataFrame({"site_id": ["S"], "lat": [y], "lon": [x]})
    iso = site_isochrones(hand_router, sites, minutes=[1, 2, 4], res=12)
    # node times from 1: 0, 40, 100, 200, 230 s -> 1 min: {1, 2}; 2 min: + 3; 4 min: all
    got = {m: dict(zip(g["h3"], g["drive_minutes"])) for m, g in iso.cells.groupby("minutes")}
    assert got[1.0] == pytest.approx({cell_of(1, 12): 0.0, cell_of(2, 12): 40 / 60})
    assert set(got[2.0]) == {cell_of(n, 12) for n in (1, 2, 3)}
    assert got[4.0][cell_of(5, 12)] == pytest.approx(230 / 60)
    s = iso.summary.set_index("minutes")
    assert s["cell_count"].tolist() == [2, 3, 5]
    assert not s["estimated"].any() and s["snap_m"].iloc[0] == pytest.approx(0, abs=1e-6)
    # with a 1 m edge every node is a boundary node: every isochrone is truncated
    assert s["truncated"].all()
    polys = iso.polygons()
    assert polys.crs.to_epsg() == 4326 and all(
        isinstance(g, shapely.Polygon | shapely.MultiPolygon) for g in polys.geometry
    )
    assert polys.geometry.iloc[0].contains(shapely.Point(*XY[2]))


def test_isochrone_cells_match_independent_networkx(aguascalientes):
    router = RoadRouter.from_graph(aguascalientes)
    rng = np.random.default_rng(5)
    picks = rng.choice(router.size, size=4, replace=False)
    sites = pd.DataFrame({"site_id": range(4), "lat": router.lat[picks], "lon": router.lon[picks]})
    iso = site_isochrones(router, sites, minutes=[1.5, 3], res=10)
    for i, p in enumerate(picks):
        node = int(router.nodes[p])
        times = nx.single_source_dijkstra_path_length(
            aguascalientes, node, cutoff=180, weight="travel_time"
        )
        for m in (1.5, 3.0):
            expected: dict[int, float] = {}
            for n, t in times.items():
                if t <= m * 60:
                    c = int(
                        latlng_to_cells(
                            aguascalientes.nodes[n]["y"], aguascalientes.nodes[n]["x"], 10
                        )[0]
                    )
                    expected[c] = min(expected.get(c, np.inf), t / 60)
            got = iso.cells[(iso.cells["site_id"] == i) & (iso.cells["minutes"] == m)]
            assert dict(zip(got["h3"], got["drive_minutes"])) == pytest.approx(expected)


def test_truncation_on_a_real_extract(aguascalientes):
    router = RoadRouter.from_graph(aguascalientes)
    centre = int(
        np.argmin((router.lat - router.lat.mean()) ** 2 + (router.lon - router.lon.mean()) ** 2)
    )
    sites = pd.DataFrame(
        {"site_id": ["c"], "lat": [router.lat[centre]], "lon": [router.lon[centre]]}
    )
    iso = site_isochrones(router, sites, minutes=[0.5, 20], res=9)
    assert iso.summary["truncated"].tolist() == [False, True]  # 20 min crosses the 2.5 km extract


def test_off_network_sites_are_estimated(aguascalientes):
    router = RoadRouter.from_graph(aguascalientes)
    sites = pd.DataFrame({"site_id": ["far"], "lat": [21.95], "lon": [-102.20]})
    fb = Fallback(circuity=1.5, speed_kph=40)
    iso = site_isochrones(router, sites, minutes=[10], res=8, max_snap_m=500, fallback=fb)
    row = iso.summary.iloc[0]
    assert row["estimated"] and row["off_network"] and row["snap_m"] > 5000
    clat, clon = cell_to_latlng(iso.cells["h3"].to_numpy())
    km = haversine_km(21.95, -102.20, clat, clon)
    assert km.max() <= 10 / 60 * 40 / 1.5 + 1e-9  # reach = minutes * speed / circuity
    assert iso.cells["drive_minutes"].to_numpy() == pytest.approx(km * 1.5 / 40 * 60)
    none = site_isochrones(None, sites, minutes=[10], res=8)
    assert none.summary["estimated"].all() and np.isnan(none.summary["snap_m"]).all()


def test_invalid_inputs_listed():
    sites = pd.DataFrame({"site_id": [1, 1], "lat": [95.0, 10.0], "lon": [0.0, 0.0]})
    with pytest.raises(TerritoryError) as e:
        site_isochrones(None, sites, minutes=[10], res=8)
    assert len(e.value.problems) == 2
    with pytest.raises(TerritoryError):
        site_isochrones(None, sites.head(0), minutes=[0, -1], res=8)
    with pytest.raises(GeoError):
        Fallback(circuity=0.5)


def test_nearest_site_matches_per_site_dijkstra(aguascalientes):
    router = RoadRouter.from_graph(aguascalientes)
    rng = np.random.default_rng(11)
    picks = rng.choice(router.size, size=3, replace=False)
    sites = pd.DataFrame(
        {"site_id": list("abc"), "lat": router.lat[picks], "lon": router.lon[picks]}
    )
    pts = rng.choice(router.size, size=60, replace=False)
    out = nearest_site_for_points(router, sites, router.lat[pts], router.lon[pts])
    per_site = (
        np.vstack(
            [
                [
                    nx.single_source_dijkstra_path_length(
                        aguascalientes, int(router.nodes[p]), weight="travel_time"
                    )[int(router.nodes[q])]
                    for q in pts
                ]
                for p in picks
            ]
        )
        / 60
    )
    assert out["drive_minutes"].to_numpy() == pytest.approx(per_site.min(axis=0), abs=1e-6)
    best = per_site.min(axis=0)
    for k, site in enumerate(out["site_id"]):
        assert per_site["abc".index(site), k] == pytest.approx(best[k])
    assert not out["estimated"].any()


def test_nearest_site_estimates_off_road_points_and_sites(aguascalientes):
    router = RoadRouter.from_graph(aguascalientes)
    n0 = 0
    sites = pd.DataFrame(
        {"site_id": ["on", "off"], "lat": [router.lat[n0], 21.95], "lon": [router.lon[n0], -102.20]}
    )
    out = nearest_site_for_points(
        router,
        sites,
        [router.lat[n0], 21.951, 21.5],
        [router.lon[n0], -102.20, -102.27],
        max_snap_m=300,
    )
    assert out["site_id"].tolist()[:2] == ["on", "off"]
    assert out["estimated"].tolist()[:2] == [False, True]
    assert out["drive_minutes"].iloc[0] == pytest.approx(0, abs=1e-6)
    assert out["estimated"].iloc[2]  # 40 km south: straight line to the nearer site
    cells = latlng_to_cells(router.lat[:30], router.lon[:30], 9)
    by_cell = nearest_site_for_cells(router, sites, cells, res=9)
    assert set(by_cell["h3"]) == set(cells.tolist()) and (by_cell["site_id"] == "on").all()


def test_overlap_by_hand():
    cells = pd.DataFrame({"site_id": ["a"] * 4 + ["b"] * 2 + ["c"], "h3": [1, 2, 3, 4, 3, 4, 9]})
    out = catchment_overlap(cells, weights=pd.Series({3: 5.0, 4: 1.0}))
    assert out.to_dict("records") == [
        {
            "site_a": "a",
            "site_b": "b",
            "shared_cells": 2,
            "shared_weight": 6.0,
            "share_a": 0.5,
            "share_b": 1.0,
        }
    ]
