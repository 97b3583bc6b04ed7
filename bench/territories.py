"""Isochrones, liaison territories and expansion planning at scale.

    python -m bench.territories [--side 317] [--providers 1000000] [--cells 20000]

Builds a generated road graph of ``side x side`` nodes (317 x 317 = 100,489)
on a 100 m grid at Columbus's latitude, two-way streets at 30 km/h with
50 km/h arterials every 10th row/column and an 80 km/h freeway every 50th,
and measures, each beside a baseline run in the same process on the same
inputs:

* one site's 10/20/30-minute isochrones (after the router is built) vs
  ``networkx.ego_graph(G, node, radius=1800, distance="travel_time")``, the
  osmnx isochrone recipe;
* 100 sites vs 100 ``ego_graph`` calls (timed on 5 and scaled by 20);
* ``--cells`` H3 cells into 10 contiguous balanced territories vs a weighted
  k-means of the same cells (not contiguous, not locked);
* best 5 of 100 candidate sites over ``--providers`` providers (aggregation
  to cells, 15-minute candidate isochrones, exact ILP) vs greedy on the same
  coverage matrix.

Targets (issue 5): isochrone < 100 ms, 100 sites < 5 s, territories < 10 s,
expansion < 30 s.
"""

from __future__ import annotations

import argparse
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
        for r in range(side) for c in range(side)
    )

    def speed(line: int) -> float:
        return 80.0 if line % 50 == 0 else 50.0 if line % 10 == 0 else 30.0

    edges = []
    for r in range(side):
        for c in range(side):
            if c + 1 < side:
                t = STEP_M / (speed(r) / 3.6)
                edges += [(int(ids[r, c]), int(ids[r, c + 1]), {"length": STEP_M, "travel_time": t}),
                          (int(ids[r, c + 1]), int(ids[r, c]), {"length": STEP_M, "travel_time": t})]
            if r + 1 < side:
                t = STEP_M / (speed(c) / 3.6)
                edges += [(int(ids[r, c]), int(ids[r + 1, c]), {"length": STEP_M, "travel_time": t}),
                          (int(ids[r + 1, c]), int(ids[r, c]), {"length": STEP_M, "travel_time": t})]
    G.add_edges_from(edges)
    return G


def timed(fn):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def line(what: str, seconds: float, target: float, baseline: float, base_what: str) -> None:
    ok = "ok" if seconds < target else "SLOWER THAN TARGET"
    print(f"  {what:<44} {seconds * 1000:10.1f} ms  (target < {target * 1000:,.0f} ms, {ok})")
    print(f"  {'  baseline: ' + base_what:<44} {baseline * 1000:10.1f} ms  "
          f"baseline/ours = {baseline / seconds if seconds else float('inf'):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=317)
    parser.add_argument("--providers", type=int, default=1_000_000)
    parser.add_argument("--cells", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    from geo.h3grid import latlng_to_cells
    from geo.routing import RoadRouter
    from territories.expansion import best_candidates
    from territories.isochrones import site_isochrones
    from territories.liaison import partition_territories

    G, dt = timed(lambda: grid_graph(args.side))
    print(f"prm bench.territories: generated grid graph {G.number_of_nodes():,} nodes / "
          f"{G.number_of_edges():,} edges in {dt:.1f} s")
    router, dt = timed(lambda: RoadRouter.from_graph(G))
    print(f"  router built (CSR + boundary nodes) in {dt:.2f} s")
    router.node_cells(8)

    lat = router.lat
    lon = router.lon
    centre = int(np.argmin((lat - lat.mean()) ** 2 + (lon - lon.mean()) ** 2))
    one = pd.DataFrame({"site_id": [1], "lat": [lat[centre]], "lon": [lon[centre]]})
    site_isochrones(router, one, minutes=[10], res=8)  # warm the snapping tree
    iso, dt1 = timed(lambda: site_isochrones(router, one, minutes=[10, 20, 30], res=8))
    _, base1 = timed(lambda: nx.ego_graph(G, int(router.nodes[centre]), radius=1800,
                                          distance="travel_time"))
    print(f"\n1 site, 10/20/30 min isochrones ({int(iso.summary['cell_count'].iloc[-1]):,} "
          f"cells at 30 min, res 8)")
    line("site_isochrones", dt1, 0.1, base1, "networkx.ego_graph 30 min")

    pick = rng.choice(router.size, size=100, replace=False)
    sites = pd.DataFrame({"site_id": np.arange(100), "lat": lat[pick], "lon": lon[pick]})
    _, dt100 = timed(lambda: site_isochrones(router, sites, minutes=[10, 20, 30], res=8))
    _, base5 = timed(lambda: [nx.ego_graph(G, int(router.nodes[p]), radius=1800,
                                           distance="travel_time") for p in pick[:5]])
    print("\n100 sites, 10/20/30 min isochrones")
    line("site_isochrones", dt100, 5.0, base5 * 20, "ego_graph x100 (5 timed x 20)")

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
    km, basek = timed(lambda: KMeans(n_clusters=10, n_init=1, random_state=0).fit(
        np.column_stack([clat, clon]), sample_weight=weights + 1e-3))
    kload = np.bincount(km.labels_, weights=weights, minlength=10)
    print(f"\n{cells.size:,} cells (res 9) into 10 territories, balanced on a skewed measure")
    line("partition_territories", dtt, 10.0, basek, "weighted k-means (no contiguity)")
    print(f"  balance max/min {plan.balance:.3f}, compactness {plan.compactness:.2f}, "
          f"contiguous {bool(plan.territories['contiguous'].all())}, moves {plan.moves}; "
          f"k-means balance {kload.max() / max(kload.min(), 1e-9):.3f}")

    # ---------------------------------------------------------------- expansion
    n = args.providers

    def expansion():  # noqa: ANN202
        plat = rng.uniform(lat.min(), lat.max(), n)
        plon = rng.uniform(lon.min(), lon.max(), n)
        pcell = latlng_to_cells(plat, plon, 8)
        demand = pd.DataFrame({"providers": pd.Series(pcell).value_counts().astype(float)})
        cand_pick = rng.choice(router.size, size=100, replace=False)
        cand = pd.DataFrame({"site_id": np.arange(100), "lat": lat[cand_pick],
                             "lon": lon[cand_pick]})
        existing = site_isochrones(router, sites.head(4), minutes=[15], res=8).cells["h3"]
        cc = site_isochrones(router, cand, minutes=[15], res=8).cells.rename(
            columns={"site_id": "candidate_id"})
        sel = best_candidates(cc, existing, demand, pick=5, measure="providers", method="ilp")
        return sel, cc, existing, demand

    (sel, cc, existing, demand), dte = timed(expansion)
    greedy, baseg = timed(lambda: best_candidates(cc, existing, demand, pick=5,
                                                  measure="providers", method="greedy"))
    print(f"\nbest 5 of 100 candidates over {n:,} providers ({len(demand):,} cells, 15 min)")
    line("aggregate + isochrones + exact ILP", dte, 30.0, baseg, "greedy on the same matrix")
    print(f"  ILP ({'optimal' if sel.optimal else 'not proven'}) adds {sel.added:,.0f} providers; "
          f"greedy adds {greedy.added:,.0f} ({greedy.added / sel.added:.2%} of the ILP)")


if __name__ == "__main__":
    main()
