"""The one road router behind every drive time: snapping, searches and the fallback.

:class:`RoadRouter` is built once from the osmnx graph of
:func:`geo.roads.load_drive_graph` and answers, in compiled code (numba):

* drive times from one node, or from several at once with a starting offset
  each (:meth:`RoadRouter.search`), the basis of isochrones, catchments,
  proximity scoring and nearest-site assignment;
* snapping of many points to their nearest node with the great-circle
  snapping distance (:meth:`RoadRouter.snap`, one k-d tree built once).

The rule for the drive time between two points lives here and nowhere else
(:func:`point_legs`, :func:`minutes_from`, :func:`drive_time_matrix`):

* a point farther than ``max_snap_m`` from every road node is *off the
  network*; every other point is *routed* from its nearest node, and its walk
  to that node (the *access leg*) is added at the fallback speed, at both
  ends of a trip;
* a trip with an end off the network, with no road between its ends, or with
  no road network at all is *estimated* from the great-circle distance by the
  :class:`Fallback` (``km * circuity / speed_kph * 60``) and flagged so.

The defaults of ``max_snap_m`` and :class:`Fallback` are the settings'
(:class:`core.settings.Settings`), read from there, not restated.

Search: the graph's edges (fastest of parallel edges) are held as compressed
sparse rows and searched by a bucket queue (sequential delta-stepping): nodes
are kept in buckets of ``delta`` seconds and a bucket is emptied before the
next, relaxing edges as Dijkstra does; a node improved again within its bucket
is simply processed again, so the times are exact for any ``delta`` (it sets
only the speed). A bucket is a constant-time queue where Dijkstra's heap costs
a logarithm, which is what makes it several times faster than a heap on road
graphs (``bench/territories.py``). Times are seconds inside, minutes outside.
Nodes within ``edge_m`` of the network's hull are *boundary* nodes: a search
that reaches one was probably cut short by the edge of the loaded extract
(see :func:`geo.roads.boundary_nodes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import networkx as nx
import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse
from scipy.spatial import cKDTree

from core.checks import finite_number
from core.errors import GeoError, Problem, RoadNetworkError
from core.settings import Settings
from geo.distance import (
    EARTH_RADIUS_KM,
    as_float_array,
    haversine_km,
    unit_vectors,
    validate_coordinates,
)
from geo.h3grid import latlng_to_cells
from geo.roads import boundary_nodes

__all__ = [
    "DEFAULT_MAX_SNAP_M",
    "Fallback",
    "Legs",
    "Reach",
    "RoadRouter",
    "drive_time_matrix",
    "minutes_from",
    "point_legs",
    "reach_from",
    "reach_km",
]

_SETTINGS = Settings.model_fields
#: A point farther than this from every road node is off the network (settings' default).
DEFAULT_MAX_SNAP_M: float = float(_SETTINGS["max_snap_m"].default)
_MIN_EDGE_S = 1e-3  # a zero-time edge (two nodes at one place) still costs something


@dataclass(frozen=True, slots=True)
class Fallback:
    """Straight-line drive-time estimate: ``minutes = km * circuity / speed_kph * 60``.

    Also the speed of a point's walk to its road node (the access leg).
    Defaults are the settings' ``fallback_circuity`` and ``fallback_speed_kph``.

    Attributes
    ----------
    circuity
        Road distance over great-circle distance (about 1.2-1.4 in cities).
    speed_kph
        Average door-to-door speed.
    """

    circuity: float = float(_SETTINGS["fallback_circuity"].default)
    speed_kph: float = float(_SETTINGS["fallback_speed_kph"].default)

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        finite_number(self.circuity, field="circuity", problems=problems, ge=1)
        finite_number(self.speed_kph, field="speed_kph", problems=problems, gt=0)
        if problems:
            raise GeoError("invalid fallback parameters", problems=problems)

    def minutes(self, km: Any) -> npt.NDArray[np.float64]:
        """Estimated drive minutes for great-circle kilometres."""
        return np.asarray(km, dtype="float64") * self.circuity / self.speed_kph * 60.0

    def km(self, minutes: float) -> float:
        """Great-circle reach of ``minutes`` of driving."""
        return minutes / 60.0 * self.speed_kph / self.circuity


def _compiled(fn):  # noqa: ANN001, ANN202
    """``numba.njit`` cached on disk, or per process where no cache directory is writable."""
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # numba found no writable __pycache__ or user cache directory
        return numba.njit(nogil=True)(fn)


@_compiled
def _bucket_search(indptr, indices, weights, start, offset, cutoff, delta, max_w, targets):  # noqa: ANN001, ANN202
    """Multi-source shortest times by a bucket queue (see the module docstring).

    ``start[i]`` begins at ``offset[i]`` seconds. Returns ``(dist, source)``:
    ``inf`` / -1 beyond ``cutoff`` or unreached, else the time and the index
    into ``start`` of the source it came from (on a tie, the first to reach
    it). With ``targets``, stops as soon as every target's time is final.
    """
    n = indptr.size - 1
    dist = np.full(n, np.inf)
    source = np.full(n, -1, np.int32)  # int32 node arrays: half the cache traffic of int64
    for i in range(start.size):
        s = start[i]
        if offset[i] <= cutoff and offset[i] < dist[s]:
            dist[s] = offset[i]
            source[s] = i
    lo, hi = np.inf, 0.0
    for i in range(start.size):
        if source[start[i]] == i:
            lo = min(lo, offset[i])
            hi = max(hi, offset[i])
    if lo == np.inf:
        return dist, source
    nb = int((hi - lo + max_w) / delta) + 2  # pending labels never span more buckets
    head = np.full(nb, -1, np.int32)
    nxt = np.empty(n, np.int32)
    prv = np.empty(n, np.int32)
    where = np.full(n, -1, np.int32)
    count = 0
    for i in range(start.size):
        s = start[i]
        if source[s] == i:
            k = int(dist[s] / delta) % nb
            nxt[s], prv[s], where[s] = head[k], -1, k
            if head[k] != -1:
                prv[head[k]] = s
            head[k] = s
            count += 1
    cur = int(lo / delta)
    track = start.size > 1  # one start: every reached node's source is 0 (set at the end)
    while count > 0:
        b = cur % nb
        while head[b] != -1:
            u = head[b]
            head[b] = nxt[u]
            if nxt[u] != -1:
                prv[nxt[u]] = -1
            where[u] = -1
            count -= 1
            du = dist[u]
            for e in range(indptr[u], indptr[u + 1]):
                v = indices[e]
                nd = du + weights[e]
                if nd < dist[v] and nd <= cutoff:
                    dist[v] = nd
                    if track:
                        source[v] = source[u]
                    k = int(nd / delta) % nb
                    w = where[v]
                    if w == k:
                        continue
                    if w != -1:  # move v from its bucket to the earlier one
                        p, q = prv[v], nxt[v]
                        if p != -1:
                            nxt[p] = q
                        else:
                            head[w] = q
                        if q != -1:
                            prv[q] = p
                    else:
                        count += 1
                    nxt[v], prv[v], where[v] = head[k], -1, k
                    if head[k] != -1:
                        prv[head[k]] = v
                    head[k] = v
        cur += 1
        if targets.size:
            bound = cur * delta  # every time below this is final
            done = True
            for t in targets:
                if not dist[t] < bound:
                    done = False
                    break
            if done:
                break
    if not track:
        for v in range(n):
            if dist[v] < np.inf:
                source[v] = 0
    return dist, source


@_compiled
def _cell_minima(seconds, code, ncells):  # noqa: ANN001, ANN202
    """Minimum of ``seconds`` per ``code`` (``inf`` where none)."""
    best = np.full(ncells, np.inf)
    for i in range(seconds.size):
        if seconds[i] < best[code[i]]:
            best[code[i]] = seconds[i]
    return best


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
        best = _cell_minima(np.asarray(seconds, dtype="float64"), code, cells.size)
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
        dist, source = _bucket_search(
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


# ---------------------------------------------------------------------- the point rule


class Legs(NamedTuple):
    """Where points meet the road network (see :func:`point_legs`)."""

    position: npt.NDArray[np.int64]  #: row of the nearest node (0 where none)
    snap_m: npt.NDArray[np.float64]  #: metres to it (NaN without a network or coordinates)
    routed: npt.NDArray[np.bool_]  #: located and within ``max_snap_m`` of a road
    leg_min: npt.NDArray[np.float64]  #: the walk to the node, in minutes at the fallback speed


def point_legs(
    router: RoadRouter | None,
    lat: Any,
    lon: Any,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
) -> Legs:
    """Snap points by the one rule: nearest node within ``max_snap_m``, walk at the fallback speed.

    Missing coordinates (NaN pairs) are neither routed nor an error.

    Raises
    ------
    GeoError
        Listing every invalid coordinate.
    """
    la = as_float_array(lat, name="lat")
    lo = as_float_array(lon, name="lon")
    problems = validate_coordinates(la, lo, allow_missing=True)
    if problems:
        raise GeoError(f"{len(problems)} invalid coordinate(s)", problems=problems)
    located = ~np.isnan(la)
    position = np.zeros(la.size, "int64")
    snap_m = np.full(la.size, np.nan)
    if router is not None and located.any():
        s = router.snap(la[located], lo[located])
        position[located] = s["position"].to_numpy()
        snap_m[located] = s["snap_m"].to_numpy()
    routed = located & (snap_m <= max_snap_m)  # NaN compares False: no network, no route
    return Legs(position, snap_m, routed, fallback.minutes(snap_m / 1000.0))


class Reach(NamedTuple):
    """Drive seconds from one place to every node (one whole search), see :func:`reach_from`."""

    lat: float
    lon: float
    #: seconds per node, the origin's access leg included; None when it is off the network
    seconds: npt.NDArray[np.float64] | None


def _check_origin(lat: float, lon: float) -> None:
    problems = validate_coordinates(
        as_float_array(lat, name="lat"), as_float_array(lon, name="lon")
    )
    if problems:
        raise GeoError("invalid origin coordinates", problems=problems)


def reach_from(
    router: RoadRouter | None,
    lat: float,
    lon: float,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
) -> Reach:
    """One whole search from a place, for :func:`minutes_from` calls from it in many batches.

    A caller that asks for the minutes from one site to its points batch by
    batch passes this as ``reach`` so that the search runs once, not once per
    batch; the minutes are the same as without it (a search's times are exact
    wherever it stops).

    Raises
    ------
    GeoError
        For invalid coordinates.
    """
    _check_origin(lat, lon)
    site = point_legs(router, lat, lon, max_snap_m=max_snap_m, fallback=fallback)
    if router is None or not site.routed[0]:
        return Reach(float(lat), float(lon), None)
    secs, _ = router.search(site.position, offset_s=site.leg_min * 60.0)
    return Reach(float(lat), float(lon), secs)


def reach_km(
    router: RoadRouter | None, minutes: float, *, fallback: Fallback = Fallback()
) -> float:
    """Great-circle km holding every point :func:`minutes_from` puts at most ``minutes`` away.

    A bound for pre-selecting points (a bounding box in SQL) before their
    minutes are computed. Every trip of the rule moves at most as fast, in a
    straight line, as the fastest of its parts: the straight-line estimate and
    the access legs at ``speed_kph / circuity``, the roads at the router's
    :attr:`RoadRouter.top_kph`; so ``minutes`` at the fastest of those reach
    no farther. The fallback speed alone would be too short a radius: roads
    are faster than the door-to-door estimate (highways about 100 km/h).
    """
    kph = fallback.speed_kph / fallback.circuity
    if router is not None:
        kph = max(kph, router.top_kph)
    return minutes / 60.0 * kph


def minutes_from(
    router: RoadRouter | None,
    lat: float,
    lon: float,
    to_lat: Any,
    to_lon: Any,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
    reach: Reach | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Drive minutes from one place (a site) to many points, by the one rule.

    Parameters
    ----------
    reach
        :func:`reach_from` of this place with the same router and rule: its
        times are used instead of a search of their own.

    Returns
    -------
    tuple of numpy.ndarray
        ``(minutes, estimated)``: routed minutes (both access legs included)
        where both ends are on the network and connected, else the
        straight-line estimate with ``estimated`` True; NaN (not estimated)
        for points without coordinates.

    Raises
    ------
    GeoError
        For invalid coordinates (every one listed).
    ValueError
        ``reach`` is another place's.
    """
    _check_origin(lat, lon)
    if reach is not None and (reach.lat, reach.lon) != (float(lat), float(lon)):
        raise ValueError("reach is from another place")
    pts = point_legs(router, to_lat, to_lon, max_snap_m=max_snap_m, fallback=fallback)
    minutes = np.full(pts.position.size, np.inf)
    if router is not None and pts.routed.any():
        want = pts.position[pts.routed]
        if reach is None:
            reach = _targeted(router, lat, lon, want, max_snap_m=max_snap_m, fallback=fallback)
        if reach.seconds is not None:
            minutes[pts.routed] = reach.seconds[want] / 60.0 + pts.leg_min[pts.routed]
    estimated = ~np.isfinite(minutes)
    la = as_float_array(to_lat, name="lat")
    lo = as_float_array(to_lon, name="lon")
    minutes[estimated] = fallback.minutes(haversine_km(lat, lon, la[estimated], lo[estimated]))
    estimated &= ~np.isnan(la)
    return minutes, estimated


def _targeted(
    router: RoadRouter,
    lat: float,
    lon: float,
    targets: npt.NDArray[np.int64],
    *,
    max_snap_m: float,
    fallback: Fallback,
) -> Reach:
    """A search from a place stopped once the targets' times are final."""
    site = point_legs(router, lat, lon, max_snap_m=max_snap_m, fallback=fallback)
    if not site.routed[0]:
        return Reach(float(lat), float(lon), None)
    secs, _ = router.search(site.position, offset_s=site.leg_min * 60.0, targets=targets)
    return Reach(float(lat), float(lon), secs)


def drive_time_matrix(
    router: RoadRouter | None,
    lat: Any,
    lon: Any,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Drive minutes between every pair of N points (e.g. the stops of a visit route).

    One search per routed point, each stopped as soon as every other point's
    time is final.

    Returns
    -------
    tuple of numpy.ndarray
        ``(minutes, estimated_mask)``, both ``N x N``: row ``i`` from point
        ``i``; the diagonal is 0. Pairs with an end off the network (or no
        road between them, or no network) hold the straight-line estimate and
        are True in the mask.

    Raises
    ------
    GeoError
        For missing or invalid coordinates (every one listed).
    """
    la = as_float_array(lat, name="lat")
    lo = as_float_array(lon, name="lon")
    problems = validate_coordinates(la, lo)
    if problems:
        raise GeoError(f"{len(problems)} invalid point coordinate(s)", problems=problems)
    legs = point_legs(router, la, lo, max_snap_m=max_snap_m, fallback=fallback)
    n = la.size
    minutes = np.full((n, n), np.inf)
    on = np.flatnonzero(legs.routed)
    if router is not None and on.size:
        want = legs.position[on]
        for i in on.tolist():
            secs, _ = router.search(legs.position[i], offset_s=legs.leg_min[i] * 60.0, targets=want)
            minutes[i, on] = secs[want] / 60.0 + legs.leg_min[on]
    estimated = ~np.isfinite(minutes)
    rows, cols = np.nonzero(estimated)
    minutes[rows, cols] = fallback.minutes(haversine_km(la[rows], lo[rows], la[cols], lo[cols]))
    np.fill_diagonal(minutes, 0.0)
    np.fill_diagonal(estimated, False)
    return minutes, estimated
