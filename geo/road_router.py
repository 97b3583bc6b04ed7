"""The road graph, ready for searches: loading, node lookups, snapping and the search.

:class:`RoadRouter` is built once from the osmnx graph of
:func:`geo.roads.load_drive_graph` and answers, in compiled code
(:mod:`geo.bucket_search`):

* drive times from one node, or from several at once with a starting offset
  each (:meth:`RoadRouter.search`), the basis of isochrones, catchments,
  proximity scoring and nearest-site assignment;
* snapping of many points to their nearest node with the great-circle
  snapping distance (:meth:`RoadRouter.snap`, one k-d tree built once).

It knows nodes and edges only; the rule for the drive time between two
*points* (snapping limit, access legs, the estimate) is :mod:`geo.drive_times`.
Times are seconds inside, minutes outside. Nodes within ``edge_m`` of the
network's hull are *boundary* nodes: a search that reaches one was probably
cut short by the edge of the loaded extract (see :func:`geo.roads.boundary_nodes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse
from scipy.spatial import cKDTree

from core.errors import GeoError, Problem, RoadNetworkError
from geo.bucket_search import bucket_search, cell_minima
from geo.distance import (
    EARTH_RADIUS_KM,
    as_float_array,
    haversine_km,
    unit_vectors,
    validate_coordinates,
)
from geo.h3grid import latlng_to_cells
from geo.roads import boundary_nodes

__all__ = ["RoadRouter"]

_MIN_EDGE_S = 1e-3  # a zero-time edge (two nodes at one place) still costs something


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
    delta
        Bucket width of the searches, in seconds (speed only, not results).
    """

    nodes: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    matrix: scipy.sparse.csr_matrix
    boundary: npt.NDArray[np.bool_]
    delta: float
    _position: pd.Series = field(repr=False)
    _cells: dict[int, tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]] = field(
        default_factory=dict, repr=False
    )
    _tree: Any = field(default=None, repr=False)
    _csr: tuple = field(default=(), repr=False)
    _top_kph: float | None = field(default=None, repr=False)

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, *, edge_m: float = 300.0) -> RoadRouter:
        """Build from a graph with ``travel_time`` (s) on edges and ``x``/``y`` on nodes.

        Raises
        ------
        RoadNetworkError
            If the graph is empty or an edge lacks a positive finite travel time.
        """
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
                problems=[
                    Problem(
                        "travel_time missing or negative", field="travel_time", value=f"{a}->{b}"
                    )
                    for a, b in zip(u[bad][:20], v[bad][:20])
                ],
            )
        frame = pd.DataFrame(
            {
                "u": position.reindex(u).to_numpy(),
                "v": position.reindex(v).to_numpy(),
                "t": np.maximum(t, _MIN_EDGE_S),
            }
        )
        frame = frame.groupby(["u", "v"], as_index=False, sort=False)["t"].min()
        matrix = scipy.sparse.csr_matrix(
            (frame["t"].to_numpy(), (frame["u"].to_numpy(), frame["v"].to_numpy())), shape=(n, n)
        )
        matrix.sort_indices()
        # a quarter of the typical edge: few empty buckets, few nodes processed twice
        delta = max(float(np.median(matrix.data)) / 4.0, _MIN_EDGE_S) if matrix.nnz else 1.0
        edge = boundary_nodes(G, within_m=edge_m)
        mask = np.isin(nodes, np.fromiter(edge, "int64", count=len(edge)))
        router = cls(nodes, lat, lon, matrix, mask, delta, position)
        router.search([0], cutoff_s=0.0)  # compile (or load) the search now, not in a request
        return router

    # ------------------------------------------------------------------ lookups

    @property
    def size(self) -> int:
        """Number of nodes."""
        return int(self.nodes.size)

    @property
    def top_kph(self) -> float:
        """The fastest straight-line speed of any edge: its ends' great-circle km per hour.

        No search covers more great-circle distance per hour: a path's ends are
        at most the sum of its edges' straight lines apart (computed once).
        """
        if self._top_kph is None:
            m = self.matrix.tocoo()
            km = haversine_km(self.lat[m.row], self.lon[m.row], self.lat[m.col], self.lon[m.col])
            self._top_kph = float((km / (m.data / 3600.0)).max()) if m.nnz else 0.0
        return self._top_kph

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
                problems=[
                    Problem("unknown node", field="node", value=str(x)) for x in missing[:20]
                ],
            )
        return pos.to_numpy(dtype="int64")

    def node_cells(self, res: int) -> npt.NDArray[np.int64]:
        """H3 cell of every node at ``res`` (computed once per resolution)."""
        code, cells = self.cell_index(res)
        return cells[code]

    def cell_index(self, res: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """``(code, cells)``: node ``i`` lies in ``cells[code[i]]`` (computed once per resolution).

        This is the one node-to-cell mapping: isochrones, catchments and the
        demand they cover all go through it.
        """
        if res not in self._cells:
            code, cells = pd.factorize(latlng_to_cells(self.lat, self.lon, res), sort=True)
            self._cells[res] = (code.astype("int64"), np.asarray(cells, dtype="int64"))
        return self._cells[res]

    def cell_times(
        self, seconds: Any, res: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Per H3 cell at ``res``, the fastest of its nodes' ``seconds`` (one per node).

        Returns
        -------
        tuple of numpy.ndarray
            ``(cells, seconds)`` of the cells with a finite time, cells ascending.
        """
        code, cells = self.cell_index(res)
        best = cell_minima(np.asarray(seconds, dtype="float64"), code, cells.size)
        keep = np.isfinite(best)
        return cells[keep], best[keep]

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
            self._tree = cKDTree(unit_vectors(self.lat, self.lon))
        if la.size == 0:
            dist = np.empty(0)
            pos = np.empty(0, "int64")
        else:
            # nearest by chord on the unit sphere is nearest by great circle; a k-d tree
            # in 3-D answers far faster than a haversine ball tree
            chord, i = self._tree.query(unit_vectors(la, lo), k=1)
            dist = 2.0 * np.arcsin(np.minimum(chord / 2.0, 1.0)) * EARTH_RADIUS_KM * 1000.0
            pos = np.asarray(i, dtype="int64")
        off = (dist > max_snap_m) if max_snap_m is not None else np.zeros(la.size, bool)
        return pd.DataFrame(
            {"position": pos, "node": self.nodes[pos], "snap_m": dist, "off_network": off}
        )

    # ------------------------------------------------------------------ searches

    def search(
        self,
        positions: Any,
        *,
        offset_s: Any = 0.0,
        cutoff_s: float = np.inf,
        targets: Any = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Drive seconds to every node from the nearest of one or more start nodes.

        Parameters
        ----------
        positions
            Row positions of the start nodes.
        offset_s
            Seconds already spent at each start (its access leg); scalar or one per start.
        cutoff_s
            Nodes farther than this get ``inf`` and source -1.
        targets
            Row positions whose times are wanted: the search stops once they
            are final (other nodes' times are then partial).

        Returns
        -------
        tuple of numpy.ndarray
            ``(seconds, source)``: ``source`` is the index into ``positions``
            of the start each node is reached from fastest (on a tie, the
            first to reach it).
        """
        pos = np.atleast_1d(np.asarray(positions, dtype="int64"))
        off = np.broadcast_to(np.asarray(offset_s, dtype="float64"), pos.shape).copy()
        tgt = np.empty(0, "int64") if targets is None else np.unique(np.asarray(targets, "int64"))
        for what, arr in (("start", pos), ("target", tgt)):  # the compiled search trusts them
            if arr.size and not (arr.min() >= 0 and arr.max() < self.size):
                raise RoadNetworkError(
                    f"{what} node position outside the road network ({self.size} nodes)"
                )
        if not (np.isfinite(off).all() and (off >= 0).all()):
            raise RoadNetworkError("start offsets must be finite and >= 0")
        if not self._csr:
            m = self.matrix
            self._csr = (
                m.indptr.astype("int64"),
                m.indices.astype("int32"),
                m.data.astype("float64"),
                float(m.data.max()) if m.nnz else 0.0,
            )
        indptr, indices, weights, max_w = self._csr
        dist, source = bucket_search(
            indptr,
            indices,
            weights,
            pos.astype("int32"),
            off,
            float(cutoff_s),
            float(self.delta),
            max_w,
            tgt.astype("int32"),
        )
        return dist, source.astype("int64")
