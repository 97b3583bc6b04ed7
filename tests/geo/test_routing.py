"""The road router: hand-computed times, the point rule, the matrix, snapping, PBF input."""

from __future__ import annotations

import networkx as nx
import numpy as np
import osmnx as ox
import pytest
from scipy.sparse.csgraph import dijkstra

from core.errors import GeoError, RoadNetworkError
from core.settings import Settings
from geo.distance import haversine_km
from geo.roads import graph_hull, load_drive_graph
from geo.routing import (
    DEFAULT_MAX_SNAP_M,
    Fallback,
    RoadRouter,
    drive_time_matrix,
    minutes_from,
    point_legs,
    reach_from,
    reach_km,
)

from .conftest import DATA
from .test_roads import hand_graph


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


# ------------------------------------------------------------------ the one point rule


def test_defaults_are_the_settings():
    s = Settings()
    assert s.max_snap_m == DEFAULT_MAX_SNAP_M
    assert Fallback() == Fallback(circuity=s.fallback_circuity, speed_kph=s.fallback_speed_kph)
    with pytest.raises(GeoError):
        Fallback(circuity=0.5)
    with pytest.raises(GeoError):
        Fallback(speed_kph=0)
    with pytest.raises(GeoError) as info:
        Fallback(circuity=float("inf"), speed_kph=True)
    assert [p.field for p in info.value.problems] == ["circuity", "speed_kph"]


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


def test_point_legs_walk_at_the_fallback_speed():
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.5, speed_kph=6.0)
    legs = point_legs(
        r,
        [45.0, 45.0 + 0.2 / 111.195, 45.5, np.nan],
        [0.5] * 3 + [np.nan],
        max_snap_m=300,
        fallback=fb,
    )
    assert legs.routed.tolist() == [True, True, False, False]
    assert legs.snap_m[1] == pytest.approx(200, rel=1e-4)
    assert legs.leg_min[1] == pytest.approx(0.2 * 1.5 / 6.0 * 60, rel=1e-4)  # 3 min on foot
    none = point_legs(None, [45.0], [0.5])
    assert not none.routed.any() and np.isnan(none.snap_m).all()


def test_minutes_from_routes_estimates_and_flags():
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    step = 1.0 / 111.195
    lat = [45.0 + step, 45.0 + 2 * step, 45.0 + 10 * step, 45.0 + 5 * step, np.nan]
    lon = [0.5] * 4 + [np.nan]
    minutes, est = minutes_from(r, 45.0, 0.5, lat, lon, max_snap_m=500, fallback=fb)
    # b, c by road; d on its island (no road from a): estimated; the 4th is 3 km off any road
    assert minutes[:2] == pytest.approx([1.0, 2.5])
    assert est.tolist() == [False, False, True, True, False]
    assert minutes[2] == pytest.approx(fb.minutes(10.0), rel=1e-4)
    assert minutes[3] == pytest.approx(fb.minutes(5.0), rel=1e-4)
    assert np.isnan(minutes[4])
    # the site 200 m off its node walks there first: 0.2 km at 30 km/h x 1.3
    m2, _ = minutes_from(r, 45.0 - 0.2 * step, 0.5, lat[:1], lon[:1], max_snap_m=500, fallback=fb)
    assert m2[0] == pytest.approx(1.0 + fb.minutes(0.2), rel=1e-4)
    _off, est_off = minutes_from(r, 46.0, 0.5, lat[:1], lon[:1], max_snap_m=500, fallback=fb)
    assert est_off.all()
    nonet, est_none = minutes_from(None, 45.0, 0.5, lat[:2], lon[:2], fallback=fb)
    assert est_none.all() and nonet == pytest.approx(fb.minutes([1.0, 2.0]), rel=1e-4)
    with pytest.raises(GeoError):
        minutes_from(r, 95.0, 0.5, lat, lon)


def test_one_search_answers_every_batch_as_its_own_search_would():
    """reach_from: a site's minutes asked batch by batch from one whole search are the same."""
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    step = 1.0 / 111.195
    lat = [45.0 + step, 45.0 + 2 * step, 45.0 + 10 * step, 45.0 + 5 * step, np.nan]
    lon = [0.5] * 4 + [np.nan]
    for site in ((45.0 - 0.2 * step, 0.5), (46.0, 0.5)):  # on the network, then off it
        reach = reach_from(r, *site, max_snap_m=500, fallback=fb)
        assert (reach.seconds is None) == (site[0] == 46.0)
        alone = minutes_from(r, *site, lat, lon, max_snap_m=500, fallback=fb)
        for i in range(len(lat)):
            m, est = minutes_from(
                r, *site, lat[i : i + 1], lon[i : i + 1], max_snap_m=500, fallback=fb, reach=reach
            )
            np.testing.assert_array_equal(m, alone[0][i : i + 1])
            np.testing.assert_array_equal(est, alone[1][i : i + 1])
    with pytest.raises(ValueError, match="another place"):
        minutes_from(r, 45.0, 0.5, lat, lon, reach=reach)
    assert reach_from(None, 45.0, 0.5).seconds is None


def test_reach_km_bounds_every_drive_time_of_the_rule(aguascalientes):
    """No point :func:`minutes_from` puts m minutes away is farther than reach_km(m) in a line."""
    r = RoadRouter.from_graph(aguascalientes)
    hand = RoadRouter.from_graph(hand_graph())
    # the hand graph's fastest edge: 4 -> 5, 0.001 degrees of longitude at 39.961 N in 30 s
    assert hand.top_kph == pytest.approx(haversine_km(39.961, -82.998, 39.961, -83.0)[0] * 120)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    assert reach_km(None, 60.0, fallback=fb) == pytest.approx(30.0 / 1.3)
    assert r.top_kph > 30.0 / 1.3  # roads beat the estimate: a box from it alone is too small
    assert reach_km(r, 60.0, fallback=fb) == pytest.approx(r.top_kph)
    rng = np.random.default_rng(3)
    site = (21.8745, -102.2700)
    lat = rng.uniform(21.80, 21.95, 3000)  # on the extract and off it (estimates)
    lon = rng.uniform(-102.35, -102.19, 3000)
    minutes, est = minutes_from(r, *site, lat, lon, max_snap_m=500, fallback=fb)
    assert 0 < est.sum() < est.size
    km = haversine_km(*site, lat, lon)
    bound = np.array([reach_km(r, m, fallback=fb) for m in minutes])
    assert (km <= bound + 1e-9).all()
    # the roads reach close to the bound somewhere: it is not loose for nothing
    assert (km / bound)[~est].max() > 0.5


def test_drive_time_matrix_by_hand():
    r = RoadRouter.from_graph(chain(), edge_m=1.0)
    fb = Fallback(circuity=1.3, speed_kph=30.0)
    step = 1.0 / 111.195
    lat = [45.0, 45.0 + step, 45.0 + 2 * step, 45.0 + 10 * step, 45.0 + 5 * step]
    minutes, est = drive_time_matrix(r, lat, [0.5] * 5, max_snap_m=500, fallback=fb)
    # one-way ring a -> b -> c -> a: 60 + 90 + 30 s
    assert minutes[:3, :3] == pytest.approx(np.array([[0, 1.0, 2.5], [2.0, 0, 1.5], [0.5, 1.5, 0]]))
    assert not est[:3, :3].any()
    # d is unreachable (own island) and the last point is off the network: estimated both ways
    assert est[3, :3].all() and est[:3, 3].all() and est[4].sum() == 4 and est[:, 4].sum() == 4
    assert minutes[0, 3] == pytest.approx(fb.minutes(10.0), rel=1e-4)
    assert minutes[4, 0] == pytest.approx(fb.minutes(5.0), rel=1e-4)
    assert not est.diagonal().any() and (minutes.diagonal() == 0).all()
    _nonet, est_none = drive_time_matrix(None, lat[:2], [0.5] * 2, fallback=fb)
    assert est_none.tolist() == [[False, True], [True, False]]
    with pytest.raises(GeoError) as info:
        drive_time_matrix(r, [45.0, np.nan], [0.5, 0.5])
    assert info.value.problems


def test_matrix_agrees_with_minutes_from(aguascalientes):
    r = RoadRouter.from_graph(aguascalientes)
    rng = np.random.default_rng(8)
    lat = rng.uniform(21.858, 21.880, 25)
    lon = rng.uniform(-102.285, -102.255, 25)
    lat[3], lon[3] = 21.95, -102.20  # off the network
    minutes, est = drive_time_matrix(r, lat, lon)
    for i in (0, 3, 7):
        row, row_est = minutes_from(r, lat[i], lon[i], lat, lon)
        row_est[i] = False
        assert minutes[i] == pytest.approx(np.where(np.arange(25) == i, 0.0, row))
        assert (est[i] == row_est).all()
    assert est[3].sum() == 24 and est[:, 3].sum() == 24


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
