from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from core.errors import TerritoryError
from geo.distance import haversine_km
from geo.h3grid import cell_polygon, latlng_to_cells
from territories.catchments import (
    Catchment,
    drive_minutes_to_points,
    drive_time_catchment,
    estimated_drive_time_catchment,
    graph_node_cells,
    radius_catchment,
    site_catchments,
)

XY = {
    1: (-83.000, 39.960),
    2: (-82.999, 39.960),
    3: (-82.998, 39.960),
    4: (-82.998, 39.961),
    5: (-83.000, 39.961),
}


@pytest.fixture()
def hand():
    """Times from node 1: 2 -> 40 s (parallel edge), 3 -> 100 s, 4 -> 200 s, 5 -> 230 s."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    for n, (x, y) in XY.items():
        G.add_node(n, x=x, y=y)
    for u, v, t in [
        (1, 2, 60),
        (2, 1, 60),
        (2, 3, 60),
        (3, 2, 60),
        (1, 3, 150),
        (3, 4, 100),
        (4, 5, 30),
        (5, 1, 30),
    ]:
        G.add_edge(u, v, travel_time=float(t), length=100.0)
    G.add_edge(1, 2, travel_time=40.0, length=90.0)
    return G


def cell_of(n: int, res: int) -> int:
    x, y = XY[n]
    return int(latlng_to_cells(y, x, res)[0])


def test_drive_time_catchment_by_hand(hand):
    c = drive_time_catchment(hand, 39.960, -83.000, minutes=200 / 60, res=15, boundary=frozenset())
    assert isinstance(c, Catchment) and c.method == "drive_time" and c.site_node == 1
    assert c.snap_m == pytest.approx(0, abs=0.01)
    got = dict(zip(c.cells["h3"], c.cells["drive_minutes"]))
    assert got == pytest.approx(
        {
            cell_of(1, 15): 0.0,
            cell_of(2, 15): 40 / 60,
            cell_of(3, 15): 100 / 60,
            cell_of(4, 15): 200 / 60,
        }
    )
    assert not c.truncated and not c.estimated
    assert c.geometry.equals(shapely.union_all([cell_polygon(h) for h in got]))


def test_cell_minimum_over_nodes(hand):
    # at res 7 all five nodes share a cell: its time is the site's own, 0
    c = drive_time_catchment(hand, 39.9608, -82.9981, minutes=10, res=7, boundary=frozenset())
    assert c.site_node == 4
    assert c.cells["h3"].tolist() == [cell_of(1, 7)]
    assert c.cells["drive_minutes"].tolist() == [0.0]


def test_truncation_flag(hand):
    edge = frozenset({5})
    assert not drive_time_catchment(
        hand, 39.96, -83.0, minutes=220 / 60, res=12, boundary=edge
    ).truncated
    assert drive_time_catchment(
        hand, 39.96, -83.0, minutes=240 / 60, res=12, boundary=edge
    ).truncated
    # default boundary: every node of this tiny graph is on its hull
    assert drive_time_catchment(hand, 39.96, -83.0, minutes=1, res=12).truncated


def test_edge_cells_add_crossed_cells(hand):
    plain = drive_time_catchment(hand, 39.96, -83.0, minutes=10, res=13, boundary=frozenset())
    full = drive_time_catchment(
        hand, 39.96, -83.0, minutes=10, res=13, boundary=frozenset(), include_edge_cells=True
    )
    assert set(plain.cells["h3"]) < set(full.cells["h3"])
    merged = full.cells.set_index("h3")["drive_minutes"]
    for h, m in zip(plain.cells["h3"], plain.cells["drive_minutes"]):
        assert merged[h] <= m + 1e-9
    assert full.cells["drive_minutes"].max() <= 10


def test_site_off_network(hand):
    with pytest.raises(TerritoryError) as info:
        drive_time_catchment(hand, 40.5, -83.0, minutes=5, res=8)
    assert "m away" in info.value.problems[0].message
    with pytest.raises(TerritoryError):
        drive_time_catchment(hand, 39.96, -83.0, minutes=0, res=8)
    with pytest.raises(TerritoryError):
        drive_time_catchment(hand, 95.0, -83.0, minutes=5, res=8)
    with pytest.raises(TypeError):
        drive_time_catchment(hand, 39.96, -83.0, minutes="5", res=8)


def test_radius_catchment():
    c = radius_catchment(39.96, -83.0, km=2, res=9)
    assert c.method == "radius" and c.parameter == 2 and not c.truncated
    assert (c.cells["distance_km"] <= 2).all() and len(c.cells) > 30
    assert c.geometry.geom_type == "Polygon"
    assert c.geometry.contains(shapely.Point(-83.0, 39.96))


def test_estimated_catchment():
    c = estimated_drive_time_catchment(39.96, -83.0, minutes=10, res=8, speed_kph=30, detour=1.5)
    assert c.estimated and c.method == "drive_time"
    assert c.cells["drive_minutes"].max() <= 10
    km = haversine_km(39.96, -83.0, *c.geometry.centroid.coords[0][::-1])[0]
    assert km < 0.5


def test_isochrone_matches_networkx(aguascalientes):
    G = aguascalientes
    lat, lon = 21.8700, -102.2700
    c = drive_time_catchment(G, lat, lon, minutes=2, res=10)
    # independent: networkx on its own, cells straight from h3 via the node coordinates
    source = min(G.nodes, key=lambda n: haversine_km(lat, lon, G.nodes[n]["y"], G.nodes[n]["x"])[0])
    assert source == c.site_node
    lengths = nx.single_source_dijkstra_path_length(G, source, cutoff=120, weight="travel_time")
    expected: dict[int, float] = {}
    for n, t in lengths.items():
        h = int(latlng_to_cells(G.nodes[n]["y"], G.nodes[n]["x"], 10)[0])
        expected[h] = min(expected.get(h, np.inf), t / 60)
    got = dict(zip(c.cells["h3"].tolist(), c.cells["drive_minutes"].tolist()))
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected)
    assert c.truncated  # the test extract is only ~2.5 km wide


def test_node_cells_precomputed_give_same_answer(aguascalientes):
    nc = graph_node_cells(aguascalientes, res=9)
    assert nc.dtype == np.int64 and len(nc) == aguascalientes.number_of_nodes()
    a = drive_time_catchment(aguascalientes, 21.87, -102.27, minutes=1.5, res=9)
    b = drive_time_catchment(
        aguascalientes, 21.87, -102.27, minutes=1.5, res=9, node_cells=nc.iloc[::2]
    )
    pd.testing.assert_frame_equal(a.cells, b.cells)


def test_site_catchments_long_table(aguascalientes):
    sites = pd.DataFrame(
        {"site_id": ["a", "b"], "lat": [21.870, 21.865], "lon": [-102.270, -102.275]}
    )
    df = site_catchments(aguascalientes, sites, minutes=[2, 1], radius_km=0.8, res=10)
    assert list(df.columns) == [
        "site_id",
        "method",
        "parameter",
        "h3",
        "drive_minutes",
        "distance_km",
        "truncated",
        "estimated",
    ]
    assert df["h3"].dtype == np.int64
    for sid, y, x in sites.itertuples(index=False):
        for m in (1, 2):
            part = df[(df.site_id == sid) & (df.method == "drive_time") & (df.parameter == m)]
            single = drive_time_catchment(aguascalientes, y, x, minutes=m, res=10)
            assert set(part["h3"]) == set(single.cells["h3"])
            assert part["truncated"].all() == single.truncated
        rad = df[(df.site_id == sid) & (df.method == "radius")]
        assert set(rad["h3"]) == set(radius_catchment(y, x, km=0.8, res=10).cells["h3"])
        assert rad["drive_minutes"].isna().all()
    one = set(df[(df.site_id == "a") & (df.parameter == 1) & (df.method == "drive_time")]["h3"])
    two = set(df[(df.site_id == "a") & (df.parameter == 2) & (df.method == "drive_time")]["h3"])
    assert one < two


def test_site_catchments_unreachable_policies(aguascalientes):
    sites = pd.DataFrame(
        {"site_id": [1, 2, 3], "lat": [21.87, 30.0, 31.0], "lon": [-102.27, -100.0, -100.0]}
    )
    with pytest.raises(TerritoryError) as info:
        site_catchments(aguascalientes, sites, minutes=[5], radius_km=None, res=9)
    assert [p.value for p in info.value.problems] == ["2", "3"]
    skipped = site_catchments(
        aguascalientes, sites, minutes=[5], radius_km=None, res=9, on_unreachable="skip"
    )
    assert set(skipped["site_id"]) == {1}
    est = site_catchments(
        aguascalientes, sites, minutes=[5], radius_km=None, res=9, on_unreachable="estimate"
    )
    assert est.groupby("site_id")["estimated"].all().to_dict() == {1: False, 2: True, 3: True}
    bad = pd.DataFrame({"site_id": [1, 2], "lat": [95.0, 21.87], "lon": [-102.27, 500.0]})
    with pytest.raises(TerritoryError) as info:
        site_catchments(aguascalientes, bad, minutes=[5], radius_km=1, res=9)
    assert len(info.value.problems) == 2
    with pytest.raises(TerritoryError):
        site_catchments(aguascalientes, sites.drop(columns="lat"), minutes=[5], radius_km=1, res=9)
    radius_only = site_catchments(None, sites, minutes=[], radius_km=1, res=8)
    assert set(radius_only["method"]) == {"radius"}


def test_drive_minutes_to_points(hand, aguascalientes):
    pts = [XY[n] for n in (1, 2, 3, 4, 5)]
    got = drive_minutes_to_points(
        hand, 39.96, -83.0, [y for _, y in pts], [x for x, _ in pts], cutoff_min=200 / 60
    )
    np.testing.assert_allclose(got[:4], [0, 40 / 60, 100 / 60, 200 / 60])
    assert np.isnan(got[4])
    G = aguascalientes
    nodes = list(G.nodes)[::40]
    lat = [G.nodes[n]["y"] + 1e-5 for n in nodes]
    lon = [G.nodes[n]["x"] for n in nodes]
    minutes = drive_minutes_to_points(G, 21.87, -102.27, lat, lon, cutoff_min=3)
    src = drive_time_catchment(G, 21.87, -102.27, minutes=3, res=9, boundary=frozenset()).site_node
    ref = nx.single_source_dijkstra_path_length(G, src, cutoff=180, weight="travel_time")
    expected = np.array([ref.get(n, np.nan) / 60 for n in nodes])
    np.testing.assert_allclose(minutes, expected)
    far = drive_minutes_to_points(
        G, 21.87, -102.27, [21.87, 22.5], [-102.27, -102.27], cutoff_min=3, max_point_snap_m=500
    )
    assert not np.isnan(far[0]) and np.isnan(far[1])
