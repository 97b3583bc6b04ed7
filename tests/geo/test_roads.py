from __future__ import annotations

import bz2
import pickle

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from core.errors import GeoError, RoadNetworkError
from geo.distance import haversine_km
from geo.roads import (
    DEFAULT_SPEEDS_KPH,
    DRIVABLE_HIGHWAYS,
    boundary_nodes,
    drive_times_from,
    graph_bounds,
    graph_hull,
    load_drive_graph,
    road_lines,
    snap_to_graph,
)

from .conftest import DATA


def hand_graph() -> nx.MultiDiGraph:
    """Five nodes near Columbus; times chosen so the answers can be worked out by hand."""
    G = nx.MultiDiGraph(crs="EPSG:4326")
    xy = {
        1: (-83.000, 39.960),
        2: (-82.999, 39.960),
        3: (-82.998, 39.960),
        4: (-82.998, 39.961),
        5: (-83.000, 39.961),
    }
    for n, (x, y) in xy.items():
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
    G.add_edge(1, 2, travel_time=40.0, length=90.0)  # faster parallel edge
    return G


def test_drive_times_by_hand():
    G = hand_graph()
    assert drive_times_from(G, 1, cutoff_s=1e9) == {1: 0.0, 2: 40.0, 3: 100.0, 4: 200.0, 5: 230.0}
    assert drive_times_from(G, 1, cutoff_s=200) == {1: 0.0, 2: 40.0, 3: 100.0, 4: 200.0}
    # one-way 4 -> 5 -> 1: from 4 everything is reachable, from 5 node 4 costs the long way round
    assert drive_times_from(G, 4, cutoff_s=1e9) == {4: 0.0, 5: 30.0, 1: 60.0, 2: 100.0, 3: 160.0}
    assert drive_times_from(G, 5, cutoff_s=1e9)[4] == 230.0
    with pytest.raises(RoadNetworkError):
        drive_times_from(G, 99, cutoff_s=10)
    with pytest.raises(TypeError):
        drive_times_from(G, 1, cutoff_s="10")


def test_hand_graph_bounds_and_hull():
    G = hand_graph()
    assert graph_bounds(G) == (-83.0, 39.96, -82.998, 39.961)
    hull = graph_hull(G)
    assert hull.area == pytest.approx(0.002 * 0.001)
    assert boundary_nodes(G, within_m=1.0) == frozenset({1, 2, 3, 4, 5})


@pytest.mark.parametrize("name", ["aguascalientes", "west_oakland"])
def test_real_graph_is_drivable_and_strongly_connected(name, request):
    G = request.getfixturevalue(name)
    assert G.number_of_nodes() > 20
    assert nx.is_strongly_connected(G)
    assert G.graph["crs"] == "epsg:4326"
    for _, _, d in G.edges(data=True):
        assert isinstance(d["highway"], str) and d["highway"] in DRIVABLE_HIGHWAYS
        assert d["travel_time"] > 0 and d["speed_kph"] > 0
        assert d.get("area") != "yes"


def test_aguascalientes_drops_pedestrian_ways(aguascalientes):
    raw = ox.graph_from_xml(DATA / "aguascalientes.osm.bz2", simplify=False, retain_all=True)
    raw_kinds = {str(d.get("highway")) for _, _, d in raw.edges(data=True)}
    assert {"pedestrian", "footway"} <= raw_kinds
    kinds = {d["highway"] for _, _, d in aguascalientes.edges(data=True)}
    assert not kinds & {"pedestrian", "footway", "path", "steps"}
    assert 600 < aguascalientes.number_of_nodes() < 1000


def test_default_speeds_applied(west_oakland):
    for _, _, d in west_oakland.edges(data=True):
        if "maxspeed" not in d:
            assert d["speed_kph"] == DEFAULT_SPEEDS_KPH[d["highway"]]


def test_drive_times_match_scipy_dijkstra(aguascalientes):
    G = aguascalientes
    nodes = list(G.nodes)
    pos = {n: i for i, n in enumerate(nodes)}
    best: dict[tuple[int, int], float] = {}
    for u, v, d in G.edges(data=True):
        key = (pos[u], pos[v])
        best[key] = min(best.get(key, np.inf), d["travel_time"])
    rows, cols = zip(*best)
    mat = scipy.sparse.csr_matrix(
        (list(best.values()), (rows, cols)), shape=(len(nodes), len(nodes))
    )
    for source in nodes[:: len(nodes) // 5]:
        ref = dijkstra(mat, indices=pos[source], limit=180.0)
        expected = {nodes[i]: t for i, t in enumerate(ref) if np.isfinite(t)}
        got = drive_times_from(G, source, cutoff_s=180.0)
        assert got.keys() == expected.keys()
        assert all(got[n] == pytest.approx(expected[n]) for n in got)


def test_snap_exact_nodes_and_brute_force(aguascalientes):
    G = aguascalientes
    some = list(G.nodes)[:50]
    lat = [G.nodes[n]["y"] for n in some]
    lon = [G.nodes[n]["x"] for n in some]
    snapped = snap_to_graph(G, lat, lon)
    assert snapped["node"].tolist() == some
    assert (snapped["snap_m"] < 0.01).all()
    rng = np.random.default_rng(1)
    minx, miny, maxx, maxy = graph_bounds(G)
    plat, plon = rng.uniform(miny, maxy, 30), rng.uniform(minx, maxx, 30)
    snapped = snap_to_graph(G, plat, plon)
    ny = np.array([d["y"] for _, d in G.nodes(data=True)])
    nx_ = np.array([d["x"] for _, d in G.nodes(data=True)])
    for i in range(30):
        brute = haversine_km(plat[i], plon[i], ny, nx_).min() * 1000
        assert snapped["snap_m"].iloc[i] == pytest.approx(brute, rel=1e-4, abs=0.01)


def test_snap_distance_grows_away_from_network(west_oakland):
    _minx, miny, maxx, maxy = graph_bounds(west_oakland)
    lats = np.full(20, (miny + maxy) / 2)
    lons = maxx + np.linspace(0.001, 0.05, 20)  # walking east, away from the extract
    d = snap_to_graph(west_oakland, lats, lons)["snap_m"].to_numpy()
    assert np.all(np.diff(d) > 0)
    assert d[-1] == pytest.approx(
        haversine_km(lats[-1], lons[-1], lats[-1], maxx)[0] * 1000, rel=0.2
    )


def test_snap_rejects_bad_points(west_oakland):
    with pytest.raises(GeoError) as info:
        snap_to_graph(west_oakland, [37.8, 100.0], [-122.3, 0.0])
    assert info.value.problems[0].message.startswith("index 1")
    with pytest.raises(TypeError):
        snap_to_graph(nx.Graph(), 0, 0)


def test_missing_and_garbage_files(tmp_path):
    with pytest.raises(RoadNetworkError):
        load_drive_graph(tmp_path / "nope.osm.bz2")
    bad = tmp_path / "bad.osm.bz2"
    bad.write_bytes(bz2.compress(b"this is not xml"))
    with pytest.raises(RoadNetworkError):
        load_drive_graph(bad)
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="0" lon="0"/></osm>')
    with pytest.raises(RoadNetworkError):
        load_drive_graph(empty)
    with pytest.raises(RoadNetworkError):
        load_drive_graph(DATA / "West-Oakland.osm.bz2", speeds={"residential": -5})


def test_cache_round_trip(tmp_path, monkeypatch):
    src = DATA / "West-Oakland.osm.bz2"
    G1 = load_drive_graph(src, cache_dir=tmp_path)
    cached = list(tmp_path.glob("*.pickle"))
    assert len(cached) == 1

    def boom(*args, **kwargs):
        raise AssertionError("parsed again despite the cache")

    monkeypatch.setattr(ox, "graph_from_xml", boom)
    G2 = load_drive_graph(src, cache_dir=tmp_path)
    assert nx.utils.graphs_equal(G1, G2)
    # different speeds => different key => a parse (which now fails loudly)
    with pytest.raises(RoadNetworkError):
        load_drive_graph(
            src, cache_dir=tmp_path, speeds={**DEFAULT_SPEEDS_KPH, "residential": 25.0}
        )
    # a corrupt cache file is ignored, not trusted
    cached[0].write_bytes(pickle.dumps({"not": "a graph"}))
    monkeypatch.undo()
    G3 = load_drive_graph(src, cache_dir=tmp_path)
    assert G3.number_of_edges() == G1.number_of_edges()


def test_progress_reports(tmp_path):
    seen = []
    load_drive_graph(DATA / "West-Oakland.osm.bz2", progress=lambda s, d, t: seen.append((s, d, t)))
    assert seen[0] == ("roads", 0, 5) and seen[-1] == ("roads", 5, 5)


def test_road_lines_one_per_undirected_edge(west_oakland):
    lines = road_lines(west_oakland)
    pairs = {frozenset((u, v)) for u, v in west_oakland.edges()}
    assert len(lines) == len(pairs)
    assert lines.crs.to_epsg() == 4326
    assert set(lines["highway"]) <= DRIVABLE_HIGHWAYS
    assert "7th Street" in set(lines["name"])
    res_only = road_lines(west_oakland, highway_classes=frozenset({"residential"}))
    assert 0 < len(res_only) < len(lines)
    simple = road_lines(west_oakland, simplify_m=20)
    assert sum(len(g.coords) for g in simple.geometry) <= sum(len(g.coords) for g in lines.geometry)
