"""The road router: hand-computed times, searches against Dijkstra, snapping, cell times."""

from __future__ import annotations

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from scipy.sparse.csgraph import dijkstra

from core.errors import GeoError, RoadNetworkError
from geo.distance import haversine_km
from geo.road_router import RoadRouter
from geo.roads import graph_hull
from tests.handgraph import hand_graph


def test_hand_graph_times_and_parallel_edges():
    r = RoadRouter.from_graph(hand_graph())
    assert r.nodes.tolist() == [1, 2, 3, 4, 5]
    # 1 -> 2 by the 40 s parallel edge, 3 via 2, 4 after 3, 5 after 4 (one-way 4 -> 5 -> 1)
    assert r.search(0, cutoff_s=1e9)[0].tolist() == [0.0, 40.0, 100.0, 200.0, 230.0]
    assert np.isinf(r.search(0, cutoff_s=150)[0][3:]).all()
    assert r.search(4, cutoff_s=1e9)[0].tolist() == [30.0, 70.0, 130.0, 230.0, 0.0]
    with pytest.raises(RoadNetworkError):
        r.search(9, cutoff_s=10)[0]
    with pytest.raises(RoadNetworkError):
        r.positions([1, 99])


def test_hand_graph_nearest_source():
    r = RoadRouter.from_graph(hand_graph())
    secs, src = r.search(r.positions([1, 4]))
    # from 1: 2 at 40, 3 at 100; from 4: 5 at 30 (and 1 at 60, but 1 is a source itself)
    assert secs.tolist() == [0.0, 40.0, 100.0, 0.0, 30.0]
    assert src.tolist() == [0, 0, 0, 1, 1]
    secs, src = r.search(r.positions([1]), cutoff_s=50)
    assert src.tolist() == [0, 0, -1, -1, -1]


def test_missing_travel_time_is_refused():
    G = hand_graph()
    G.add_edge(5, 3, length=10.0)
    with pytest.raises(RoadNetworkError, match="travel time"):
        RoadRouter.from_graph(G)


def test_times_match_networkx_on_real_graph(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    for node in r.nodes[:: r.size // 6].tolist():
        ref = nx.single_source_dijkstra_path_length(
            aguascalientes, node, cutoff=240, weight="travel_time"
        )
        got = r.search(int(r.positions(node)[0]), cutoff_s=240)[0]
        reached = {int(n): float(t) for n, t in zip(r.nodes, got) if np.isfinite(t)}
        assert reached.keys() == ref.keys()
        assert all(reached[n] == pytest.approx(ref[n]) for n in ref)


def test_nearest_source_is_the_minimum_over_sources(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    sources = r.nodes[[3, 200, 500]]
    secs, src = r.search(r.positions(sources))
    each = np.vstack([r.search(int(p), cutoff_s=np.inf)[0] for p in r.positions(sources)])
    assert secs == pytest.approx(each.min(axis=0))
    assert each[src, np.arange(r.size)] == pytest.approx(secs)


def test_snap_distances_match_osmnx_and_haversine(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    rng = np.random.default_rng(3)
    lat = rng.uniform(21.858, 21.880, 40)
    lon = rng.uniform(-102.285, -102.255, 40)
    mine = r.snap(lat, lon, max_snap_m=100)
    ref_node, ref_m = ox.distance.nearest_nodes(aguascalientes, lon, lat, return_dist=True)
    assert mine["node"].tolist() == np.asarray(ref_node).tolist()
    assert mine["snap_m"].to_numpy() == pytest.approx(np.asarray(ref_m), rel=1e-6)
    node_lat = r.lat[mine["position"]]
    node_lon = r.lon[mine["position"]]
    assert mine["snap_m"].to_numpy() == pytest.approx(
        haversine_km(lat, lon, node_lat, node_lon) * 1000, rel=1e-3
    )
    assert (mine["off_network"] == (mine["snap_m"] > 100)).all()
    with pytest.raises(GeoError) as info:
        r.snap([21.87, 95.0], [-102.27, 0.0])
    assert info.value.problems[0].message.startswith("index 1")


def test_snap_exact_nodes_and_brute_force(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    snapped = r.snap(r.lat[:50], r.lon[:50])
    assert snapped["position"].tolist() == list(range(50))
    assert (snapped["snap_m"] < 0.01).all()
    rng = np.random.default_rng(1)
    plat = rng.uniform(r.lat.min(), r.lat.max(), 30)
    plon = rng.uniform(r.lon.min(), r.lon.max(), 30)
    snapped = r.snap(plat, plon)
    for i in range(30):
        brute = haversine_km(plat[i], plon[i], r.lat, r.lon).min() * 1000
        assert snapped["snap_m"].iloc[i] == pytest.approx(brute, rel=1e-4, abs=0.01)


def test_snap_distance_grows_away_from_network(west_oakland):
    r = RoadRouter.from_graph(west_oakland)
    _minx, miny, maxx, maxy = graph_hull(west_oakland).bounds
    lats = np.full(20, (miny + maxy) / 2)
    lons = maxx + np.linspace(0.001, 0.05, 20)  # walking east, away from the extract
    d = r.snap(lats, lons)["snap_m"].to_numpy()
    assert np.all(np.diff(d) > 0)
    assert d[-1] == pytest.approx(
        haversine_km(lats[-1], lons[-1], lats[-1], maxx)[0] * 1000, rel=0.2
    )


def test_times_match_scipy_dijkstra_on_real_graph(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    for p in range(0, r.size, r.size // 5):
        ref = dijkstra(r.matrix, indices=p, limit=180.0)
        assert np.array_equal(np.isfinite(ref), np.isfinite(r.search(p, cutoff_s=180.0)[0]))
        got = r.search(p, cutoff_s=np.inf)[0]
        assert got == pytest.approx(dijkstra(r.matrix, indices=p))


def chain() -> nx.MultiDiGraph:
    """a -> b -> c one way (60 s, 90 s) with c -> a (30 s); d is an island of its own.

    Nodes 1 km apart along a meridian; d, 10 km north, has only a loop.
    """
    G = nx.MultiDiGraph(crs="EPSG:4326")
    step = 1.0 / 111.195  # degrees of latitude in a km (Earth radius 6371.0088 km)
    for n, k in (("a", 0), ("b", 1), ("c", 2), ("d", 10)):
        G.add_node(ord(n), x=0.5, y=45.0 + k * step)
    for u, v, t in (("a", "b", 60.0), ("b", "c", 90.0), ("c", "a", 30.0), ("d", "d", 5.0)):
        G.add_edge(ord(u), ord(v), travel_time=t, length=1000.0)
    return G


def test_search_offsets_cutoff_and_targets():
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    a, b, c, d = r.positions([ord(x) for x in "abcd"])
    secs, src = r.search([a], offset_s=10.0)
    assert secs[[a, b, c]].tolist() == [10.0, 70.0, 160.0] and np.isinf(secs[d])
    assert src.tolist() == [0, 0, 0, -1]
    secs, src = r.search([a, c], offset_s=[0.0, 100.0])  # c starts late: a reaches b first
    assert secs[[a, b, c]].tolist() == [0.0, 60.0, 100.0] and src[[a, b, c]].tolist() == [0, 0, 1]
    assert np.isinf(r.search([a], cutoff_s=100.0)[0][c])
    secs, _ = r.search([b], targets=[c])
    assert secs[c] == 90.0  # the time wanted is final when the search stops
    with pytest.raises(RoadNetworkError):
        r.search([7])
    with pytest.raises(RoadNetworkError):
        r.search([a], targets=[-1])
    with pytest.raises(RoadNetworkError):
        r.search([a], offset_s=np.nan)


@pytest.mark.parametrize("delta", [1e-3, 0.5, 7.0, 45.0, 1e4])
def test_bucket_width_changes_speed_not_times(aguascalientes, delta):
    r = RoadRouter.from_graph(aguascalientes)
    ref = dijkstra(r.matrix, indices=[0, 300, 600], min_only=True)
    r.delta = delta
    secs, _ = r.search([0, 300, 600])
    assert secs == pytest.approx(ref, rel=1e-12)


def test_cell_times_are_the_fastest_node_per_cell(aguascalientes):
    import pandas as pd

    from geo.h3grid import latlng_to_cells

    r = RoadRouter.from_graph(aguascalientes)
    secs = r.search(10, cutoff_s=90.0)[0]
    cells, best = r.cell_times(secs, 10)
    own = pd.Series(secs, index=latlng_to_cells(r.lat, r.lon, 10))
    expected = own[np.isfinite(own)].groupby(level=0).min()
    assert cells.tolist() == expected.index.tolist()
    assert best.tolist() == expected.tolist()
    assert (r.node_cells(10) == latlng_to_cells(r.lat, r.lon, 10)).all()
