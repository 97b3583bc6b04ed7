"""Isochrones, drive-time matrices, liaison territories and expansion planning at scale.

    python -m bench.territories [--side 317] [--runs 21] [--providers 1000000] [--cells 20000]

Builds a generated road graph of ``side x side`` nodes (317 x 317 = 100,489)
on a 100 m grid at Columbus's latitude, two-way streets at 30 km/h with
50 km/h arterials every 10th row/column and an 80 km/h freeway every 50th,
and measures, each beside baselines run in the same process on the same
inputs (ours: the median of ``--runs`` runs; baselines: the median of
``--baseline-runs``):

* one site's 10/20/30-minute isochrones (after the router is built) vs the
  code at the start of issue 15 (scipy's heap Dijkstra and a pandas group-by
  per cell, copied below as :func:`scipy_isochrones`) and vs
  ``networkx.ego_graph(G, node, radius=1800, distance="travel_time")``, the
  osmnx isochrone recipe;
* 100 sites, the same three (networkx: 5 timed and scaled by 20);
* ``drive_time_matrix`` of 25 stops within 5 km of the centre (a liaison's
  day), and of 25 stops anywhere on the grid, vs scipy's Dijkstra from the 25
  stops and networkx's (5 sources timed and scaled by 5);
* ``--cells`` H3 cells into 10 contiguous balanced territories vs a weighted
  k-means of the same cells (not contiguous, not locked);
* best 5 of 100 candidate sites over ``--providers`` providers (aggregation
  to cells, 15-minute candidate isochrones, exact ILP) vs greedy on the same
  coverage matrix.

Targets (issue 15): isochrones < 10 ms per site and < 1 s for 100 sites, and at
least 3x faster than the start of the issue; a 25-stop matrix < 100 ms.
(Issue 5: territories < 10 s, expansion < 30 s.)
"""

from __future__ import annotations

import argparse
import statistics
import time

import networkx as nx
import numpy as np
import pandas as pd

LAT0, LON0 = 39.90, -83.10
STEP_M = 100.0


def grid_graph(side: int) -> nx.MultiDiGraph:
    """A ``side x side`` two-way street grid with osmnx attributes (x, y, length, travel_time)."""
    dlat = STEP_M / 110_570.0
    dlon = STEP_M / (111_320.0 * np.cos(np.radians(LAT0)))
    G = nx.MultiDiGraph(crs="EPSG:4326")
    ids = np.arange(side * side).reshape(side, side)
    G.add_nodes_from(
        (int(ids[r, c]), {"y": LAT0 + r * dlat, "x": LON0 + c * dlon})
        for r in range(side)
        for c in range(side)
    )

    def speed(line: int) -> float:
        return 80.0 if line % 50 == 0 else 50.0 if line % 10 == 0 else 30.0

    edges = []
    for r in range(side):
        for c in range(side):
            if c + 1 < side:
                t = STEP_M / (speed(r) / 3.6)
                edges += [
                    (int(ids[r, c]), int(ids[r, c + 1]), {"length": STEP_M, "travel_time": t}),
                    (int(ids[r, c + 1]), int(ids[r, c]), {"length": STEP_M, "travel_time": t}),
                ]
            if r + 1 < side:
                t = STEP_M / (speed(c) / 3.6)
                edges += [
                    (int(ids[r, c]), int(ids[r + 1, c]), {"length": STEP_M, "travel_time": t}),
                    (int(ids[r + 1, c]), int(ids[r, c]), {"length": STEP_M, "travel_time": t}),
                ]
    G.add_edges_from(edges)
    return G


def timed(fn):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def median_s(fn, runs: int) -> float:  # noqa: ANN001
    """Median wall time of ``runs`` calls of ``fn``."""
    return statistics.median(timed(fn)[1] for _ in range(runs))


def line(what: str, seconds: float, target: float, baseline: float, base_what: str) -> None:
    ok = "ok" if seconds < target else "SLOWER THAN TARGET"
    print(f"  {what:<44} {seconds * 1000:10.1f} ms  (target < {target * 1000:,.0f} ms, {ok})")
    print(
        f"  {'  baseline: ' + base_what:<44} {baseline * 1000:10.1f} ms  "
        f"baseline/ours = {baseline / seconds if seconds else float('inf'):.2f}"
    )


def scipy_isochrones(router, sites: pd.DataFrame, minutes: list[float], res: int) -> pd.DataFrame:  # noqa: ANN001
    """The isochrones of the start of issue 15: scipy's heap Dijkstra and pandas per cell.

    A copy of the loop of ``territories.isochrones.site_isochrones`` at that
    commit, kept here (not in the product) as the baseline of the speed-up.
    """
    from scipy.sparse.csgraph import dijkstra

    snapped = router.snap(sites["lat"], sites["lon"], max_snap_m=500.0)
    node_cells = router.node_cells(res)
    frames = []
    for i, site_id in enumerate(sites["site_id"].tolist()):
        secs = dijkstra(
            router.matrix,
            directed=True,
            indices=int(snapped["position"].iloc[i]),
            limit=max(minutes) * 60.0,
        )
        reached = np.flatnonzero(np.isfinite(secs))
        reached_s = secs[reached]
        per_cell = (
            pd.DataFrame({"h3": node_cells[reached], "s": reached_s})
            .groupby("h3", sort=False)["s"]
            .min()
        )
        edge_s = reached_s[router.boundary[reached]]
        _ = float(edge_s.min()) if edge_s.size else np.inf
        for m in sorted(minutes):
            within = per_cell[per_cell <= m * 60.0]
            frames.append(
                pd.DataFrame(
                    {
                        "site_id": site_id,
                        "minutes": m,
                        "h3": within.index.to_numpy("int64"),
                        "drive_minutes": within.to_numpy() / 60.0,
                    }
                )
            )
    cells = pd.concat(frames, ignore_index=True)
    return cells.sort_values(["site_id", "minutes", "drive_minutes", "h3"], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=317)
    parser.add_argument("--runs", type=int, default=21, help="runs of ours (median reported)")
    parser.add_argument("--baseline-runs", type=int, default=5, help="runs of each baseline")
    parser.add_argument("--providers", type=int, default=1_000_000)
    parser.add_argument("--cells", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    runs, bruns = args.runs, args.baseline_runs

    from geo.drive_times import drive_time_matrix
    from geo.h3grid import latlng_to_cells
    from geo.road_router import RoadRouter
    from territories.expansion import best_candidates
    from territories.isochrones import site_isochrones
    from territories.liaison import partition_territories

    G, dt = timed(lambda: grid_graph(args.side))
    print(
        f"prm bench.territories: generated grid graph {G.number_of_nodes():,} nodes / "
        f"{G.number_of_edges():,} edges in {dt:.1f} s; ours: median of {runs} runs, "
        f"baselines: median of {bruns}"
    )
    router, dt = timed(lambda: RoadRouter.from_graph(G))
    print(f"  router built (CSR + boundary nodes) in {dt:.2f} s; bucket width {router.delta:.2f} s")
    router.node_cells(8)

    lat = router.lat
    lon = router.lon
    centre = int(np.argmin((lat - lat.mean()) ** 2 + (lon - lon.mean()) ** 2))
    one = pd.DataFrame({"site_id": [1], "lat": [lat[centre]], "lon": [lon[centre]]})
    mins = [10.0, 20.0, 30.0]
    # warm the snapping tree and compile the search (numba caches it on disk after the first run)
    iso, dt = timed(lambda: site_isochrones(router, one, minutes=mins, res=8))
    print(f"  first isochrone (compiles or loads the search) {dt:.2f} s")
    scipy_isochrones(router, one, mins, 8)
    dt1 = median_s(lambda: site_isochrones(router, one, minutes=mins, res=8), runs)
    old1 = median_s(lambda: scipy_isochrones(router, one, mins, 8), bruns)
    base1 = median_s(
        lambda: nx.ego_graph(G, int(router.nodes[centre]), radius=1800, distance="travel_time"),
        bruns,
    )
    print(
        f"\n1 site, 10/20/30 min isochrones ({int(iso.summary['cell_count'].iloc[-1]):,} "
        f"cells at 30 min, res 8)"
    )
    line("site_isochrones", dt1, 0.010, old1, "start of issue 15 (scipy + pandas)")
    print(
        f"  {'  baseline: networkx.ego_graph 30 min':<44} {base1 * 1000:10.1f} ms  "
        f"baseline/ours = {base1 / dt1:.2f}"
    )

    pick = rng.choice(router.size, size=100, replace=False)
    sites = pd.DataFrame({"site_id": np.arange(100), "lat": lat[pick], "lon": lon[pick]})
    dt100 = median_s(lambda: site_isochrones(router, sites, minutes=mins, res=8), runs)
    old100 = median_s(lambda: scipy_isochrones(router, sites, mins, 8), bruns)
    base5 = median_s(
        lambda: [
            nx.ego_graph(G, int(router.nodes[p]), radius=1800, distance="travel_time")
            for p in pick[:5]
        ],
        bruns,
    )
    print("\n100 sites, 10/20/30 min isochrones")
    line("site_isochrones", dt100, 1.0, old100, "start of issue 15 (scipy + pandas)")
    print(
        f"  {'  baseline: ego_graph x100 (5 timed x 20)':<44} {base5 * 20 * 1000:10.1f} ms  "
        f"baseline/ours = {base5 * 20 / dt100:.2f}"
    )

    from scipy.sparse.csgraph import dijkstra

    from geo.distance import haversine_km

    near = np.flatnonzero(haversine_km(lat[centre], lon[centre], lat, lon) <= 5.0)
    for label, stops in (
        ("25 stops within 5 km", rng.choice(near, size=25, replace=False)),
        ("25 stops anywhere", rng.choice(router.size, size=25, replace=False)),
    ):
        slat, slon = lat[stops] + 2e-4, lon[stops]  # ~20 m off the road: access legs count
        drive_time_matrix(router, slat, slon)
        dtm = median_s(lambda: drive_time_matrix(router, slat, slon), runs)  # noqa: B023
        oldm = median_s(lambda: dijkstra(router.matrix, indices=stops), bruns)  # noqa: B023
        nx5 = median_s(
            lambda: [
                nx.single_source_dijkstra_path_length(G, int(router.nodes[p]), weight="travel_time")
                for p in stops[:5]  # noqa: B023 (called before the loop moves on)
            ],
            1,
        )
        print(f"\ndrive_time_matrix, {label}")
        line("drive_time_matrix", dtm, 0.1, oldm, "scipy dijkstra from the 25 stops")
        print(
            f"  {'  baseline: networkx x25 (5 timed x 5, 1 run)':<44} {nx5 * 5 * 1000:10.1f} ms  "
            f"baseline/ours = {nx5 * 5 / dtm:.2f}"
        )

    # ---------------------------------------------------------------- territories
    from h3.api import basic_int as h3i

    c0 = int(latlng_to_cells(lat.mean(), lon.mean(), 9)[0])
    ring = 1
    while 3 * ring * (ring + 1) + 1 < args.cells:
        ring += 1
    cells = np.array(sorted(h3i.grid_disk(c0, ring)), dtype="int64")[: args.cells]
    weights = rng.gamma(0.6, 3.0, size=cells.size).round()
    frame = pd.DataFrame({"h3": cells, "weight": weights})
    plan, dtt = timed(lambda: partition_territories(frame, k=10))
    from sklearn.cluster import KMeans

    from geo.h3grid import cell_to_latlng

    clat, clon = cell_to_latlng(cells)
    km, basek = timed(
        lambda: KMeans(n_clusters=10, n_init=1, random_state=0).fit(
            np.column_stack([clat, clon]), sample_weight=weights + 1e-3
        )
    )
    kload = np.bincount(km.labels_, weights=weights, minlength=10)
    print(f"\n{cells.size:,} cells (res 9) into 10 territories, balanced on a skewed measure")
    line("partition_territories", dtt, 10.0, basek, "weighted k-means (no contiguity)")
    print(
        f"  balance max/min {plan.balance:.3f}, compactness {plan.compactness:.2f}, "
        f"contiguous {bool(plan.territories['contiguous'].all())}, moves {plan.moves}; "
        f"k-means balance {kload.max() / max(kload.min(), 1e-9):.3f}"
    )

    # ---------------------------------------------------------------- expansion
    n = args.providers

    def expansion():  # noqa: ANN202
        plat = rng.uniform(lat.min(), lat.max(), n)
        plon = rng.uniform(lon.min(), lon.max(), n)
        pcell = latlng_to_cells(plat, plon, 8)
        demand = pd.DataFrame({"providers": pd.Series(pcell).value_counts().astype(float)})
        cand_pick = rng.choice(router.size, size=100, replace=False)
        cand = pd.DataFrame(
            {"site_id": np.arange(100), "lat": lat[cand_pick], "lon": lon[cand_pick]}
        )
        existing = site_isochrones(router, sites.head(4), minutes=[15], res=8).cells["h3"]
        cc = site_isochrones(router, cand, minutes=[15], res=8).cells.rename(
            columns={"site_id": "candidate_id"}
        )
        sel = best_candidates(cc, existing, demand, pick=5, measure="providers", method="ilp")
        return sel, cc, existing, demand

    (sel, cc, existing, demand), dte = timed(expansion)
    greedy, baseg = timed(
        lambda: best_candidates(cc, existing, demand, pick=5, measure="providers", method="greedy")
    )
    print(f"\nbest 5 of 100 candidates over {n:,} providers ({len(demand):,} cells, 15 min)")
    line("aggregate + isochrones + exact ILP", dte, 30.0, baseg, "greedy on the same matrix")
    print(
        f"  ILP ({'optimal' if sel.optimal else 'not proven'}) adds {sel.added:,.0f} providers; "
        f"greedy adds {greedy.added:,.0f} ({greedy.added / sel.added:.2%} of the ILP)"
    )


if __name__ == "__main__":
    main()
