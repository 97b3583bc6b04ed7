from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from core.errors import TerritoryError
from geo.distance import haversine_km
from geo.drive_times import point_legs
from geo.fallback import Fallback
from geo.h3grid import cell_to_latlng, latlng_to_cells
from geo.road_router import RoadRouter
from territories.catchments import radius_catchment, site_catchments
from territories.isochrones import site_isochrones
from tests.handgraph import cell_of


@pytest.fixture(scope="module")
def ags_router(aguascalientes):
    return RoadRouter.from_graph(aguascalientes)


def one_site(lat: float, lon: float, site_id: object = "S") -> pd.DataFrame:
    return pd.DataFrame({"site_id": [site_id], "lat": [lat], "lon": [lon]})


def test_drive_time_catchment_by_hand(hand):
    router = RoadRouter.from_graph(hand)
    df = site_catchments(
        router, one_site(39.960, -83.000), minutes=[200 / 60], radius_km=None, res=15
    )
    assert set(df["method"]) == {"drive_time"} and df["snap_m"].iloc[0] == pytest.approx(
        0, abs=0.01
    )
    got = dict(zip(df["h3"], df["drive_minutes"]))
    assert got == pytest.approx(
        {
            cell_of(1, 15): 0.0,
            cell_of(2, 15): 40 / 60,
            cell_of(3, 15): 100 / 60,
            cell_of(4, 15): 200 / 60,
        }
    )
    assert not df["estimated"].any()
    assert df["truncated"].all()  # every node of this tiny graph is on its hull


def test_cell_minimum_over_nodes_and_the_site_walk(hand):
    # at res 7 all five nodes share a cell: its time is the site's walk to node 4
    router = RoadRouter.from_graph(hand)
    df = site_catchments(router, one_site(39.9608, -82.9981), minutes=[10], radius_km=None, res=7)
    assert df["h3"].tolist() == [cell_of(1, 7)]
    walk = point_legs(router, 39.9608, -82.9981).leg_min[0]
    assert walk > 0 and df["drive_minutes"].tolist() == pytest.approx([walk])


def test_site_off_network(hand):
    router = RoadRouter.from_graph(hand)
    with pytest.raises(TerritoryError) as info:
        site_catchments(router, one_site(40.5, -83.0), minutes=[5], radius_km=None, res=8)
    assert "m away" in info.value.problems[0].message and info.value.problems[0].value == "S"
    with pytest.raises(TerritoryError):
        site_catchments(router, one_site(39.96, -83.0), minutes=[0], radius_km=None, res=8)
    with pytest.raises(TerritoryError):
        site_catchments(router, one_site(95.0, -83.0), minutes=[5], radius_km=None, res=8)
    with pytest.raises(TerritoryError) as info:  # every bad limit listed at once
        site_catchments(
            router,
            one_site(39.96, -83.0),
            minutes=["5", True, float("nan"), 10],
            radius_km=-1,
            res=8,
        )
    assert [p.field for p in info.value.problems] == ["minutes"] * 3 + ["radius_km"]


def test_radius_catchment():
    c = radius_catchment(39.96, -83.0, km=2, res=9)
    assert c.method == "radius" and c.parameter == 2
    assert (c.cells["distance_km"] <= 2).all() and len(c.cells) > 30
    assert c.geometry.geom_type == "Polygon"
    assert c.geometry.contains(shapely.Point(-83.0, 39.96))


def test_estimated_catchment_uses_the_given_fallback():
    fb = Fallback(circuity=1.5, speed_kph=30)
    df = site_catchments(
        None,
        one_site(39.96, -83.0),
        minutes=[10],
        radius_km=None,
        res=8,
        fallback=fb,
        on_unreachable="estimate",
    )
    assert df["estimated"].all() and df["snap_m"].isna().all()
    assert df["drive_minutes"].max() <= 10
    assert df["drive_minutes"].to_numpy() == pytest.approx(fb.minutes(df["distance_km"].to_numpy()))
    assert df["distance_km"].max() <= fb.km(10) + 1e-9


def test_catchment_matches_networkx(aguascalientes, ags_router):
    G = aguascalientes
    lat, lon = 21.8700, -102.2700
    df = site_catchments(ags_router, one_site(lat, lon), minutes=[2], radius_km=None, res=10)
    # independent: networkx on its own from the nearest node, plus the site's walk to it
    source = min(G.nodes, key=lambda n: haversine_km(lat, lon, G.nodes[n]["y"], G.nodes[n]["x"])[0])
    walk_m = haversine_km(lat, lon, G.nodes[source]["y"], G.nodes[source]["x"])[0] * 1000
    walk = Fallback().minutes(walk_m / 1000)
    assert df["snap_m"].iloc[0] == pytest.approx(walk_m, rel=1e-4)
    lengths = nx.single_source_dijkstra_path_length(G, source, weight="travel_time")
    expected: dict[int, float] = {}
    for n, t in lengths.items():
        if walk + t / 60 <= 2:
            h = int(latlng_to_cells(G.nodes[n]["y"], G.nodes[n]["x"], 10)[0])
            expected[h] = min(expected.get(h, np.inf), walk + t / 60)
    got = dict(zip(df["h3"].tolist(), df["drive_minutes"].tolist()))
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected)
    assert df["truncated"].all()  # the test extract is only ~2.5 km wide


def test_site_catchments_long_table(ags_router):
    sites = pd.DataFrame(
        {"site_id": ["a", "b"], "lat": [21.870, 21.865], "lon": [-102.270, -102.275]}
    )
    df = site_catchments(ags_router, sites, minutes=[2, 1], radius_km=0.8, res=10)
    assert list(df.columns) == [
        "site_id",
        "method",
        "parameter",
        "h3",
        "drive_minutes",
        "distance_km",
        "truncated",
        "estimated",
        "snap_m",
    ]
    assert df["h3"].dtype == np.int64
    iso = site_isochrones(ags_router, sites, minutes=[1, 2], res=10)
    for sid, y, x in sites.itertuples(index=False):
        for m in (1, 2):
            part = df[(df.site_id == sid) & (df.method == "drive_time") & (df.parameter == m)]
            single = iso.cells[(iso.cells.site_id == sid) & (iso.cells.minutes == m)]
            assert dict(zip(part["h3"], part["drive_minutes"])) == dict(
                zip(single["h3"], single["drive_minutes"])
            )
            clat, clon = cell_to_latlng(part["h3"].to_numpy())
            assert part["distance_km"].to_numpy() == pytest.approx(haversine_km(y, x, clat, clon))
        rad = df[(df.site_id == sid) & (df.method == "radius")]
        assert set(rad["h3"]) == set(radius_catchment(y, x, km=0.8, res=10).cells["h3"])
        assert rad["drive_minutes"].isna().all() and rad["snap_m"].isna().all()
    one = set(df[(df.site_id == "a") & (df.parameter == 1) & (df.method == "drive_time")]["h3"])
    two = set(df[(df.site_id == "a") & (df.parameter == 2) & (df.method == "drive_time")]["h3"])
    assert one < two


def test_site_catchments_unreachable_policies(ags_router):
    sites = pd.DataFrame(
        {"site_id": [1, 2, 3], "lat": [21.87, 30.0, 31.0], "lon": [-102.27, -100.0, -100.0]}
    )
    with pytest.raises(TerritoryError) as info:
        site_catchments(ags_router, sites, minutes=[5], radius_km=None, res=9)
    assert [p.value for p in info.value.problems] == ["2", "3"]
    skipped = site_catchments(
        ags_router, sites, minutes=[5], radius_km=None, res=9, on_unreachable="skip"
    )
    assert set(skipped["site_id"]) == {1}
    est = site_catchments(
        ags_router, sites, minutes=[5], radius_km=None, res=9, on_unreachable="estimate"
    )
    assert est.groupby("site_id")["estimated"].all().to_dict() == {1: False, 2: True, 3: True}
    bad = pd.DataFrame({"site_id": [1, 2], "lat": [95.0, 21.87], "lon": [-102.27, 500.0]})
    with pytest.raises(TerritoryError) as info:
        site_catchments(ags_router, bad, minutes=[5], radius_km=1, res=9)
    assert len(info.value.problems) == 2
    with pytest.raises(TerritoryError):
        site_catchments(ags_router, sites.drop(columns="lat"), minutes=[5], radius_km=1, res=9)
    radius_only = site_catchments(None, sites, minutes=[], radius_km=1, res=8)
    assert set(radius_only["method"]) == {"radius"}
    with pytest.raises(TerritoryError):
        site_catchments(None, sites, minutes=[5], radius_km=None, res=8)
