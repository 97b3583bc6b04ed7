from __future__ import annotations

import bz2
import pickle

import networkx as nx
import osmnx as ox
import pytest

from core.errors import RoadNetworkError
from geo.roads import (
    DEFAULT_SPEEDS_KPH,
    DRIVABLE_HIGHWAYS,
    boundary_nodes,
    graph_hull,
    load_drive_graph,
    road_lines,
)
from tests.handgraph import hand_graph

from .conftest import DATA


def test_hand_graph_hull():
    G = hand_graph()
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


def test_speeds_must_be_finite_numbers_not_bools():
    # True (a bool is an int) and inf used to pass; every bad speed is named
    with pytest.raises(RoadNetworkError) as info:
        load_drive_graph(
            DATA / "West-Oakland.osm.bz2",
            speeds={"residential": True, "primary": float("inf"), "secondary": "50"},
        )
    assert [p.field for p in info.value.problems] == [
        "speeds['residential']",
        "speeds['primary']",
        "speeds['secondary']",
    ]


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


def test_pbf_loads_like_the_xml_and_is_cached(tmp_path, aguascalientes, monkeypatch):
    G = load_drive_graph(DATA / "aguascalientes.osm.pbf", cache_dir=tmp_path)
    assert nx.is_strongly_connected(G) and G.graph["clipped_ways"] == 0
    assert set(G.nodes) == set(aguascalientes.nodes)
    assert G.number_of_edges() == aguascalientes.number_of_edges()

    import geo.osmfile

    def boom(*a, **k):
        raise AssertionError("the cached graph must not re-read the PBF")

    monkeypatch.setattr(geo.osmfile, "pbf_to_osm_xml", boom)
    again = load_drive_graph(DATA / "aguascalientes.osm.pbf", cache_dir=tmp_path)
    assert set(again.nodes) == set(G.nodes)


def test_pbf_garbage_and_configured_speeds(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"not a pbf at all")
    with pytest.raises(RoadNetworkError, match="PBF"):
        load_drive_graph(bad)
    slow = load_drive_graph(
        DATA / "aguascalientes.osm.pbf",
        speeds=dict.fromkeys(
            (
                "residential",
                "tertiary",
                "secondary",
                "primary",
                "unclassified",
                "service",
                "living_street",
                "road",
            ),
            10.0,
        ),
    )
    untagged = [d for _, _, d in slow.edges(data=True) if "maxspeed" not in d]
    assert untagged and all(d["speed_kph"] == 10.0 for d in untagged)
