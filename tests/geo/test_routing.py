"""RoadRouter: hand-computed times, multi-source nearest, snapping, PBF input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from core.errors import GeoError, RoadNetworkError
from geo.distance import haversine_km
from geo.roads import load_drive_graph, snap_points, snap_to_graph
from geo.routing import RoadRouter

from .conftest import DATA
from .test_roads import hand_graph


def test_hand_graph_times_and_parallel_edges():
    r = RoadRouter.from_graph(hand_graph())
    assert r.nodes.tolist() == [1, 2, 3, 4, 5]
    # 1 -> 2 by the 40 s parallel edge, 3 via 2, 4 after 3, 5 after 4 (one-way 4 -> 5 -> 1)
    assert r.times_from(0, cutoff_s=1e9).tolist() == [0.0, 40.0, 100.0, 200.0, 230.0]
    assert np.isinf(r.times_from(0, cutoff_s=150)[3:]).all()
    assert r.times_from(4, cutoff_s=1e9).tolist() == [30.0, 70.0, 130.0, 230.0, 0.0]
    with pytest.raises(RoadNetworkError):
        r.times_from(9, cutoff_s=10)
    with pytest.raises(RoadNetworkError):
        r.positions([1, 99])


def test_hand_graph_nearest_source():
    r = RoadRouter.from_graph(hand_graph())
    secs, src = r.nearest_source(r.positions([1, 4]))
    # from 1: 2 at 40, 3 at 100; from 4: 5 at 30 (and 1 at 60, but 1 is a source itself)
    assert secs.tolist() == [0.0, 40.0, 100.0, 0.0, 30.0]
    assert src.tolist() == [0, 0, 0, 1, 1]
    secs, src = r.nearest_source(r.positions([1]), cutoff_s=50)
    assert src.tolist() == [0, 0, -1, -1, -1]


def test_missing_travel_time_is_refused():
    G = hand_graph()
    G.add_edge(5, 3, length=10.0)
    with pytest.raises(RoadNetworkError, match="travel time"):
        RoadRouter.from_graph(G)


def test_times_match_networkx_on_real_graph(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    for node in r.nodes[:: r.size // 6].tolist():
        ref = nx.single_source_dijkstra_path_length(aguascalientes, node, cutoff=240,
                                                    weight="travel_time")
        got = r.times_from(int(r.positions(node)[0]), cutoff_s=240)
        reached = {int(n): float(t) for n, t in zip(r.nodes, got) if np.isfinite(t)}
        assert reached.keys() == ref.keys()
        assert all(reached[n] == pytest.approx(ref[n]) for n in ref)


def test_nearest_source_is_the_minimum_over_sources(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    sources = r.nodes[[3, 200, 500]]
    secs, src = r.nearest_source(r.positions(sources))
    each = np.vstack([r.times_from(int(p), cutoff_s=np.inf) for p in r.positions(sources)])
    assert secs == pytest.approx(each.min(axis=0))
    assert (each[src, np.arange(r.size)] == pytest.approx(secs))


def test_snap_distances_match_osmnx_and_haversine(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    rng = np.random.default_rng(3)
    lat = rng.uniform(21.858, 21.880, 40)
    lon = rng.uniform(-102.285, -102.255, 40)
    mine = r.snap(lat, lon, max_snap_m=100)
    ref = snap_to_graph(aguascalientes, lat, lon)
    assert mine["node"].tolist() == ref["node"].tolist()
    assert mine["snap_m"].to_numpy() == pytest.approx(ref["snap_m"].to_numpy(), rel=1e-6)
    node_lat = r.lat[mine["position"]]
    node_lon = r.lon[mine["position"]]
    assert mine["snap_m"].to_numpy() == pytest.approx(
        haversine_km(lat, lon, node_lat, node_lon) * 1000, rel=1e-3)
    assert (mine["off_network"] == (mine["snap_m"] > 100)).all()
    with pytest.raises(GeoError):
        r.snap([95.0], [0.0])


def test_snap_points_flags_far_points(aguascalientes):
    n = next(iter(aguascalientes.nodes))
    y, x = aguascalientes.nodes[n]["y"], aguascalientes.nodes[n]["x"]
    out = snap_points(aguascalientes, [y, y + 0.05], [x, x], max_snap_m=250)
    assert out["snap_m"].iloc[0] == pytest.approx(0, abs=1e-6)
    assert out["off_network"].tolist() == [False, True]
    assert out["snap_m"].iloc[1] > 3000  # ~5.5 km north of a node at the southern edge
    with pytest.raises(TypeError):
        snap_points(aguascalientes, [y], [x], max_snap_m="far")


def test_pbf_loads_like_the_xml_and_is_cached(tmp_path, aguascalientes, monkeypatch):
    G = load_drive_graph(DATA / "aguascalientes.osm.pbf", cache_dir=tmp_path)
    assert nx.is_strongly_connected(G) and G.graph["clipped_ways"] == 0
    assert set(G.nodes) == set(aguascalientes.nodes)
    assert G.number_of_edges() == aguascalientes.number_of_edges()

    import geo.osmfile

    def boom(*a, **k):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the cached graph must not re-read the PBF")

    monkeypatch.setattr(geo.osmfile, "pbf_to_osm_xml", boom)
    again = load_drive_graph(DATA / "aguascalientes.osm.pbf", cache_dir=tmp_path)
    assert set(again.nodes) == set(G.nodes)


def test_pbf_garbage_and_configured_speeds(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf at all")
    with pytest.raises(RoadNetworkError, match="PBF"):
        load_drive_graph(bad)
    slow = load_drive_graph(DATA / "aguascalientes.osm.pbf",
                            speeds={k: 10.0 for k in ("residential", "tertiary", "secondary",
                                                      "primary", "unclassified", "service",
                                                      "living_street", "road")})
    untagged = [d for _, _, d in slow.edges(data=True) if "maxspeed" not in d]
    assert untagged and all(d["speed_kph"] == 10.0 for d in untagged)
