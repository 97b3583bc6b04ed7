"""A five-node road graph whose drive times are known by hand (see :func:`hand_graph`)."""

from __future__ import annotations

import networkx as nx

from geo.h3grid import latlng_to_cells

XY = {
    1: (-83.000, 39.960),
    2: (-82.999, 39.960),
    3: (-82.998, 39.960),
    4: (-82.998, 39.961),
    5: (-83.000, 39.961),
}


def hand_graph() -> nx.MultiDiGraph:
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
