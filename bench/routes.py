"""A liaison's day: a 25-stop route solved, drive-time matrix included, on a 100k-node grid.

    python -m bench.routes [--side 317] [--stops 25] [--runs 11]

On the generated grid graph of :func:`bench.territories.grid_graph` (317 x 317
= 100,489 nodes), picks ``--stops`` providers within 5 km of the centre with
visits of 20-45 minutes (a third of them with a two-hour window), and times
what ``GET /v1/visit-lists/{day}/route`` does beside the database:
:func:`geo.drive_times.drive_time_matrix` of start + stops + end, then
:func:`territories.routes.plan_route` (VROOM). Baselines in the same run on the
same matrix:

* nearest-neighbour order (always drive to the closest unvisited stop; windows
  ignored): its time, and its drive minutes against ours;
* brute force over every order of the first 8 stops (no windows) against
  ``plan_route`` on the same 8: time and drive minutes (they must agree).

Target (issue 16): the 25-stop route, matrix included, under 2 s.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from bench.territories import grid_graph, line, median_s, timed


def nearest_neighbour(m: np.ndarray) -> tuple[list[int], float]:
    """Greedy order from point 0 through 1..n to n+1 (the baseline's heuristic)."""
    n = m.shape[0] - 2
    left, at, order, total = set(range(1, n + 1)), 0, [], 0.0
    while left:
        nxt = min(left, key=lambda j: m[at, j])
        total += m[at, nxt]
        order.append(nxt)
        left.remove(nxt)
        at = nxt
    return order, total + m[at, n + 1]


def brute_force(m: np.ndarray) -> float:
    n = m.shape[0] - 2
    return min(
        sum(m[a, b] for a, b in itertools.pairwise((0, *p, n + 1)))
        for p in itertools.permutations(range(1, n + 1))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=317)
    parser.add_argument("--stops", type=int, default=25)
    parser.add_argument("--runs", type=int, default=11, help="runs of each (median reported)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    from geo.distance import haversine_km
    from geo.drive_times import drive_time_matrix
    from geo.road_router import RoadRouter
    from territories.routes import plan_route

    G, dt = timed(lambda: grid_graph(args.side))
    router, dt2 = timed(lambda: RoadRouter.from_graph(G))
    print(
        f"prm bench.routes: grid graph {G.number_of_nodes():,} nodes in {dt:.1f} s, router "
        f"{dt2:.2f} s; median of {args.runs} runs"
    )
    lat, lon = router.lat, router.lon
    centre = int(np.argmin((lat - lat.mean()) ** 2 + (lon - lon.mean()) ** 2))
    near = np.flatnonzero(haversine_km(lat[centre], lon[centre], lat, lon) <= 5.0)
    pick = rng.choice(near, size=args.stops, replace=False)
    # stops sit off their node by up to ~30 m, as geocoded addresses do
    slat = lat[pick] + rng.normal(0, 0.0002, args.stops)
    slon = lon[pick] + rng.normal(0, 0.0002, args.stops)
    plat = np.concatenate([[lat[centre]], slat, [lat[centre]]])
    plon = np.concatenate([[lon[centre]], slon, [lon[centre]]])
    duration = rng.integers(20, 46, args.stops).astype(float)
    ws = np.full(args.stops, np.nan)
    we = np.full(args.stops, np.nan)
    windowed = rng.choice(args.stops, size=args.stops // 3, replace=False)
    ws[windowed] = rng.choice([480, 600, 720, 840], size=windowed.size)
    we[windowed] = ws[windowed] + 120
    drive_time_matrix(router, plat, plon)  # compiles or loads the search once

    def solve():  # noqa: ANN202
        m, _ = drive_time_matrix(router, plat, plon)
        return m, plan_route(
            minutes=m,
            stop_ids=range(args.stops),
            duration_min=duration,
            window_start=ws,
            window_end=we,
            day_start_min=8 * 60,
        )

    (m, plan), _ = timed(solve)
    ours = median_s(solve, args.runs)
    matrix_only = median_s(lambda: drive_time_matrix(router, plat, plon), args.runs)
    nn_s = median_s(lambda: nearest_neighbour(m), args.runs)
    _, nn_drive = nearest_neighbour(m)
    free = plan_route(
        minutes=m, stop_ids=range(args.stops), duration_min=duration, day_start_min=8 * 60
    )
    print(f"\n{args.stops} stops within 5 km, {windowed.size} with a 2-hour window, round trip")
    line(
        f"matrix + VROOM route ({args.stops} stops)",
        ours,
        2.0,
        matrix_only + nn_s,
        "matrix + nearest-neighbour order",
    )
    print(
        f"  ours: {len(plan.stops)} stops served, {len(plan.unassigned)} unassigned, "
        f"{plan.drive_min:.1f} min driving (windows kept); nearest neighbour: {nn_drive:.1f} min "
        f"driving (windows ignored), VROOM without windows {free.drive_min:.1f} min; "
        f"matrix alone {matrix_only * 1000:.1f} ms"
    )

    k = min(8, args.stops)
    sub = m[np.ix_([0, *range(1, k + 1), args.stops + 1], [0, *range(1, k + 1), args.stops + 1])]

    def small():  # noqa: ANN202
        return plan_route(
            minutes=sub, stop_ids=range(k), duration_min=duration[:k], day_start_min=8 * 60
        )

    small_s = median_s(small, args.runs)
    brute_s = median_s(lambda: brute_force(sub), 1)
    print(f"\nfirst {k} stops, no windows")
    line(f"VROOM route ({k} stops)", small_s, 2.0, brute_s, f"brute force over {k}! orders")
    print(
        f"  drive minutes: VROOM {small().drive_min:.2f}, brute force {brute_force(sub):.2f} "
        "(VROOM rounds to the second)"
    )


if __name__ == "__main__":
    main()
