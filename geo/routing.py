"""Fast drive-time searches over a loaded road graph (scipy sparse Dijkstra).

:class:`RoadRouter` is built once from the osmnx graph of
:func:`geo.roads.load_drive_graph` and answers, in compiled code:

* drive times from one node to every node within a cutoff
  (:meth:`RoadRouter.times_from`), the basis of isochrones;
* for many sources at once, the nearest source of every node and its drive
  time (:meth:`RoadRouter.nearest_source`: one multi-source Dijkstra, the
  basis of nearest-site assignment);
* snapping of many points to their nearest node with the great-circle
  snapping distance (:meth:`RoadRouter.snap`, one BallTree built once).

Parallel edges count with their fastest travel time. Times are seconds.
Nodes within ``edge_m`` of the network's hull are *boundary* nodes: a search
that reaches one was probably cut short by the edge of the loaded extract
(see :func:`geo.roads.boundary_nodes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse
from scipy.sparse.csgraph import dijkstra

from core.errors import GeoError, Problem, RoadNetworkError
from geo.distance import as_float_array, validate_coordinates
from geo.h3grid import latlng_to_cells
from geo.roads import boundary_nodes

__all__ = ["EARTH_RADIUS_M", "RoadRouter"]

EARTH_RADIUS_M = 6_371_008.8
_MIN_EDGE_S = 1e-3  # scipy's sparse graphs cannot hold a zero-weight edge


@dataclass(eq=False)
class RoadRouter:
    """A road graph as compressed sparse rows, ready for repeated searches.

    Attributes
    ----------
    nodes
        OSM node id of each row (int64).
    lat, lon
        Node coordinates in degrees.
    matrix
        ``n x n`` CSR matrix of edge travel times in seconds.
    boundary
        Boolean mask of nodes at the network's edge.
    """

    nodes: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    matrix: scipy.sparse.csr_matrix
    boundary: npt.NDArray[np.bool_]
    _position: pd.Series = field(repr=False)
    _cells: dict[int, npt.NDArray[np.int64]] = field(default_factory=dict, repr=False)
    _tree: Any = field(default=None, repr=False)

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, *, edge_m: float = 300.0) -> RoadRouter:
        """Build from a graph with ``travel_time`` (s) on edges and ``x``/``y`` on nodes.

        Raises
        ------
        RoadNetworkError
            If the graph is empty or an edge lacks a positive finite travel time.
        """
        if not isinstance(G, nx.MultiDiGraph):
            raise TypeError(f"G must be a networkx MultiDiGraph, not {type(G).__name__}")
        n = G.number_of_nodes()
        if n == 0:
            raise RoadNetworkError("the road network is empty")
        nodes = np.fromiter(G.nodes, dtype="int64", count=n)
        position = pd.Series(np.arange(n), index=nodes)
        lat = np.fromiter((G.nodes[v]["y"] for v in nodes.tolist()), "float64", count=n)
        lon = np.fromiter((G.nodes[v]["x"] for v in nodes.tolist()), "float64", count=n)
        m = G.number_of_edges()
        u = np.empty(m, "int64")
        v = np.empty(m, "int64")
        t = np.empty(m, "float64")
        for i, (a, b, tt) in enumerate(G.edges(data="travel_time")):
            u[i], v[i], t[i] = a, b, np.nan if tt is None else tt
        bad = ~(np.isfinite(t) & (t >= 0))
        if bad.any():
            raise RoadNetworkError(
                f"{int(bad.sum())} road edge(s) without a valid travel time",
                problems=[Problem("travel_time missing or negative", field="travel_time",
                                  value=f"{a}->{b}") for a, b in zip(u[bad][:20], v[bad][:20])],
            )
        frame = pd.DataFrame({"u": position.reindex(u).to_numpy(),
                              "v": position.reindex(v).to_numpy(),
                              "t": np.maximum(t, _MIN_EDGE_S)})
        frame = frame.groupby(["u", "v"], as_index=False, sort=False)["t"].min()
        matrix = scipy.sparse.csr_matrix(
            (frame["t"].to_numpy(), (frame["u"].to_numpy(), frame["v"].to_numpy())), shape=(n, n)
        )
        edge = boundary_nodes(G, within_m=edge_m)
        mask = np.isin(nodes, np.fromiter(edge, "int64", count=len(edge)))
        return cls(nodes, lat, lon, matrix, mask, position)

    # ------------------------------------------------------------------ lookups

    @property
    def size(self) -> int:
        """Number of nodes."""
        return int(self.nodes.size)

    def positions(self, node_ids: Any) -> npt.NDArray[np.int64]:
        """Row positions of OSM node ids.

        Raises
        ------
        RoadNetworkError
            Naming the ids that are not in the graph.
        """
        ids = np.atleast_1d(np.asarray(node_ids, dtype="int64"))
        pos = self._position.reindex(ids)
        missing = ids[pos.isna().to_numpy()]
        if missing.size:
            raise RoadNetworkError(
                f"{missing.size} node(s) not in the road network",
                problems=[Problem("unknown node", field="node", value=str(x)) for x in missing[:20]],
            )
        return pos.to_numpy(dtype="int64")

    def node_cells(self, res: int) -> npt.NDArray[np.int64]:
        """H3 cell of every node at ``res`` (computed once per resolution)."""
        if res not in self._cells:
            self._cells[res] = latlng_to_cells(self.lat, self.lon, res)
        return self._cells[res]

    def snap(self, lat: Any, lon: Any, *, max_snap_m: float | None = None) -> pd.DataFrame:
        """Nearest node of each point.

        Returns
        -------
        pandas.DataFrame
            ``position`` (row in this router), ``node`` (OSM id), ``snap_m``
            (great-circle metres) and ``off_network`` (``snap_m >
            max_snap_m``; all False when ``max_snap_m`` is None).

        Raises
        ------
        GeoError
            Listing every invalid coordinate.
        """
        la = as_float_array(lat, name="lat")
        lo = as_float_array(lon, name="lon")
        problems = validate_coordinates(la, lo)
        if problems:
            raise GeoError(f"{len(problems)} invalid coordinate(s) to snap", problems=problems)
        if self._tree is None:
            from sklearn.neighbors import BallTree

            self._tree = BallTree(np.radians(np.column_stack([self.lat, self.lon])),
                                  metric="haversine")
        if la.size == 0:
            dist = np.empty(0)
            pos = np.empty(0, "int64")
        else:
            d, i = self._tree.query(np.radians(np.column_stack([la, lo])), k=1)
            dist, pos = d[:, 0] * EARTH_RADIUS_M, i[:, 0].astype("int64")
        off = (dist > max_snap_m) if max_snap_m is not None else np.zeros(la.size, bool)
        return pd.DataFrame({"position": pos, "node": self.nodes[pos], "snap_m": dist,
                             "off_network": off})

    # ------------------------------------------------------------------ searches

    def times_from(self, position: int, *, cutoff_s: float) -> npt.NDArray[np.float64]:
        """Drive seconds from one node (by row position) to every node; ``inf`` beyond the cutoff."""
        if not 0 <= int(position) < self.size:
            raise RoadNetworkError(f"node position {position} outside the road network")
        return dijkstra(self.matrix, directed=True, indices=int(position), limit=float(cutoff_s))

    def nearest_source(
        self, positions: Any, *, cutoff_s: float = np.inf
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """For every node, the drive time from the nearest of several sources.

        Parameters
        ----------
        positions
            Row positions of the sources.
        cutoff_s
            Nodes farther than this from every source get ``inf`` and source -1.

        Returns
        -------
        tuple of numpy.ndarray
            ``(seconds, source)``: ``source`` is the index into ``positions``
            of the nearest source (ties go to the one scipy settles first).
        """
        pos = np.atleast_1d(np.asarray(positions, dtype="int64"))
        if pos.size == 0:
            return np.full(self.size, np.inf), np.full(self.size, -1, "int64")
        dist, _, src = dijkstra(self.matrix, directed=True, indices=pos, limit=float(cutoff_s),
                                min_only=True, return_predecessors=True)
        order = pd.Series(np.arange(pos.size), index=pos)
        order = order[~order.index.duplicated(keep="first")]  # a node listed twice: first wins
        source = np.full(self.size, -1, "int64")
        ok = src >= 0
        source[ok] = order.reindex(src[ok]).to_numpy(dtype="int64")
        return dist, source
