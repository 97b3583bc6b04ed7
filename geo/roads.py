"""Drivable road networks read from local OSM files (nothing is downloaded).

:func:`load_drive_graph` turns an ``.osm`` / ``.osm.bz2`` / ``.osm.pbf`` extract into an
unprojected (EPSG:4326) osmnx ``MultiDiGraph`` with ``speed_kph`` and
``travel_time`` (seconds) on every edge:

1. ``osmnx.graph_from_xml`` without simplification, keeping every component
   (a PBF file is first converted to XML by :func:`geo.osmfile.pbf_to_osm_xml`,
   dropping ways clipped at the extract's edge);
2. edges kept only when their ``highway`` value is in
   :data:`DRIVABLE_HIGHWAYS` (the XML reader keeps every way: footways,
   leisure areas ...), dropping ``area=yes``, ``access=private|no`` and the
   parking-aisle / driveway kinds of ``service`` roads, as osmnx's own
   ``network_type="drive"`` filter does;
3. the largest strongly connected component (so every node reaches every
   other, respecting one-way streets);
4. ``osmnx.simplify_graph`` keeping a node wherever ``highway`` or ``name``
   changes, so edges carry one street name and one road class;
5. ``add_edge_speeds`` (OSM ``maxspeed`` where tagged, else
   :data:`DEFAULT_SPEEDS_KPH`) and ``add_edge_travel_times``.

The result is pickled in ``cache_dir`` under a key made of the file's SHA-256,
the speeds and the filter options, so a later start skips the XML parse. The
cache directory must be private to the service: pickles are trusted input.

Not handled yet: turn restrictions and turn costs, time-of-day congestion,
and ways clipped at the edge of an XML extract (osmnx rejects such files;
extract with complete ways, or give the PBF, whose clipped ways are dropped).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import shapely

from core.checks import finite_number
from core.errors import Problem, RoadNetworkError
from core.files import file_sha256
from core.progress import ProgressSink, null_progress

__all__ = [
    "DEFAULT_SPEEDS_KPH",
    "DRIVABLE_HIGHWAYS",
    "boundary_nodes",
    "graph_hull",
    "load_drive_graph",
    "road_lines",
]

_CACHE_VERSION = 1

DRIVABLE_HIGHWAYS: frozenset[str] = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
        "residential",
        "living_street",
        "road",
        "service",
    }
)
"""OSM ``highway`` values a car may drive on (``service`` can be left out)."""

DEFAULT_SPEEDS_KPH: Mapping[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 45.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 35.0,
    "unclassified": 35.0,
    "residential": 30.0,
    "living_street": 15.0,
    "road": 30.0,
    "service": 15.0,
}
"""Free-flow speed per road class where OSM has no ``maxspeed`` (urban US/EU norms)."""

_EXCLUDED_SERVICE = frozenset(
    {"parking", "parking_aisle", "driveway", "private", "emergency_access"}
)
_EXCLUDED_ACCESS = frozenset({"private", "no"})


def _values(value: Any) -> list[str]:
    """An OSM tag value as a list of strings (simplification may have made it a list)."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [str(value)]


def _is_drivable(data: Mapping[str, Any], allowed: frozenset[str]) -> bool:
    if not any(h in allowed for h in _values(data.get("highway"))):
        return False
    if "yes" in _values(data.get("area")):
        return False
    if any(a in _EXCLUDED_ACCESS for a in _values(data.get("access"))):
        return False
    return not any(s in _EXCLUDED_SERVICE for s in _values(data.get("service")))


def _cache_key(digest: str, speeds: Mapping[str, float], include_service: bool) -> str:
    payload = json.dumps(
        {
            "v": _CACHE_VERSION,
            "osmnx": ox.__version__,
            "sha256": digest,
            "speeds": sorted((str(k), float(v)) for k, v in speeds.items()),
            "service": include_service,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def load_drive_graph(
    osm_path: Path,
    *,
    cache_dir: Path | None = None,
    speeds: Mapping[str, float] | None = None,
    progress: ProgressSink | None = None,
    include_service: bool = True,
) -> nx.MultiDiGraph:
    """Read the drivable road network of a local OSM XML file.

    Parameters
    ----------
    osm_path
        ``.osm`` or ``.osm.bz2`` file (OSM XML with complete ways), or
        ``.osm.pbf`` (converted with pyosmium first; clipped ways dropped).
    cache_dir
        Directory for the pickled graph; ``None`` disables caching.
    speeds
        km/h per ``highway`` class for edges without ``maxspeed``; defaults to
        :data:`DEFAULT_SPEEDS_KPH`. Classes missing from it get the mean
        tagged speed of their class, else the ``road`` speed (30 km/h).
    progress
        Receives ``("roads", step, 5)`` updates (step 0 also covers the PBF
        conversion).
    include_service
        Whether ``highway=service`` roads count as drivable.

    Returns
    -------
    networkx.MultiDiGraph
        Largest strongly connected drivable component, EPSG:4326. The graph's
        ``G.graph`` also holds ``source`` (file name), ``source_sha256`` and
        ``load_seconds`` (time of the parse that built it).

    Raises
    ------
    RoadNetworkError
        If the file is missing, unreadable, not OSM XML, or holds no drivable
        roads.
    """
    osm_path = Path(osm_path)
    sink = progress or null_progress
    speeds = dict(DEFAULT_SPEEDS_KPH if speeds is None else speeds)
    bad: list[Problem] = []
    for k, v in speeds.items():
        finite_number(v, field=f"speeds[{k!r}]", problems=bad, gt=0)
    if bad:
        raise RoadNetworkError("invalid road speeds", problems=bad)
    if not osm_path.is_file():
        raise RoadNetworkError(
            "road network file not found",
            problems=[Problem("no such file", file=str(osm_path), field="osm_file")],
        )
    try:
        digest = file_sha256(osm_path)
    except OSError as exc:
        raise RoadNetworkError(
            "road network file unreadable",
            problems=[Problem(str(exc), file=str(osm_path), field="osm_file")],
        ) from None

    cache_file = None
    if cache_dir is not None:
        cache_file = (
            Path(cache_dir)
            / f"drive_{osm_path.name.split('.')[0]}_{_cache_key(digest, speeds, include_service)}.pickle"
        )
        if cache_file.is_file():
            sink("roads", 0, 5)
            try:
                with cache_file.open("rb") as fh:
                    G = pickle.load(fh)
                if isinstance(G, nx.MultiDiGraph) and G.graph.get("source_sha256") == digest:
                    sink("roads", 5, 5)
                    return G
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                pass  # stale or corrupt cache: rebuild below

    started = time.perf_counter()
    sink("roads", 0, 5)
    try:
        G = _read_osm(osm_path)
    except RoadNetworkError:
        raise
    except Exception as exc:
        raise RoadNetworkError(
            "cannot read road network",
            problems=[
                Problem(f"{type(exc).__name__}: {exc}", file=str(osm_path), field="osm_file")
            ],
        ) from None
    sink("roads", 1, 5)
    allowed = DRIVABLE_HIGHWAYS if include_service else DRIVABLE_HIGHWAYS - {"service"}
    drop = [
        (u, v, k) for u, v, k, d in G.edges(keys=True, data=True) if not _is_drivable(d, allowed)
    ]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    if G.number_of_edges() == 0:
        raise RoadNetworkError(
            "no drivable roads in the road network file",
            problems=[Problem("no drivable highway ways", file=str(osm_path), field="osm_file")],
        )
    sink("roads", 2, 5)
    G = ox.truncate.largest_component(G, strongly=True)
    sink("roads", 3, 5)
    G = ox.simplify_graph(G, edge_attrs_differ=["highway", "name"])
    sink("roads", 4, 5)
    fallback = float(speeds.get("road", 30.0))
    G = ox.add_edge_speeds(G, hwy_speeds=speeds, fallback=fallback)
    G = ox.add_edge_travel_times(G)
    G.graph.update(
        clipped_ways=int(G.graph.get("clipped_ways", 0)),
        source=osm_path.name,
        source_sha256=digest,
        load_seconds=round(time.perf_counter() - started, 3),
    )
    sink("roads", 5, 5)
    if cache_file is not None:
        _write_cache(G, cache_file)
    return G


def _read_osm(osm_path: Path) -> nx.MultiDiGraph:
    """Unsimplified graph of every way of an OSM XML or PBF file."""
    if not osm_path.name.lower().endswith(".pbf"):
        return ox.graph_from_xml(osm_path, simplify=False, retain_all=True)
    from geo.osmfile import pbf_to_osm_xml

    with tempfile.TemporaryDirectory(prefix="prm-osm-") as tmp:
        xml = pbf_to_osm_xml(osm_path, Path(tmp) / "roads.osm")
        G = ox.graph_from_xml(xml.path, simplify=False, retain_all=True)
    G.graph["clipped_ways"] = xml.clipped_ways
    return G


def _write_cache(G: nx.MultiDiGraph, cache_file: Path) -> None:
    """Pickle atomically (temp file + rename); caching failures are not fatal."""
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(G, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache_file)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(tmp)


def _node_xy(G: nx.MultiDiGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nodes = np.fromiter(G.nodes, dtype="int64", count=G.number_of_nodes())
    x = np.fromiter((G.nodes[n]["x"] for n in nodes.tolist()), dtype="float64", count=nodes.size)
    y = np.fromiter((G.nodes[n]["y"] for n in nodes.tolist()), dtype="float64", count=nodes.size)
    return nodes, x, y


def graph_hull(G: nx.MultiDiGraph, *, concave_ratio: float = 1.0) -> shapely.Polygon:
    """Hull of the graph's nodes, in degrees.

    Parameters
    ----------
    concave_ratio
        1.0 gives the convex hull; smaller values follow the nodes more
        tightly (``shapely.concave_hull`` ratio), for extracts that are not
        convex.
    """
    _, x, y = _node_xy(G)
    if x.size == 0:
        raise RoadNetworkError("the road network is empty")
    points = shapely.multipoints(np.column_stack([x, y]))
    hull = (
        shapely.convex_hull(points)
        if concave_ratio >= 1.0
        else shapely.concave_hull(points, ratio=concave_ratio)
    )
    return hull if isinstance(hull, shapely.Polygon) else hull.buffer(1e-6)


def boundary_nodes(
    G: nx.MultiDiGraph, *, within_m: float = 300.0, concave_ratio: float = 1.0
) -> frozenset[int]:
    """Nodes within ``within_m`` metres of the edge of :func:`graph_hull`.

    A drive-time search that reaches one of these has probably been cut off by
    the extract's edge rather than by the time limit.
    """
    nodes, x, y = _node_xy(G)
    if nodes.size == 0:
        return frozenset()
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:4326")
    utm = pts.estimate_utm_crs()
    hull = (
        gpd.GeoSeries([graph_hull(G, concave_ratio=concave_ratio)], crs="EPSG:4326")
        .to_crs(utm)
        .iloc[0]
    )
    dist = pts.to_crs(utm).distance(hull.exterior).to_numpy()
    return frozenset(int(n) for n in nodes[dist <= within_m].tolist())


#: Road classes drawn on a metro-scale offline base layer. Residential streets are left
#: out: they multiply a map page's size by six without helping a hunter find a road.
BASE_LAYER_CLASSES = frozenset(
    {
        "motorway",
        "motorway_link",
        "trunk",
        "trunk_link",
        "primary",
        "primary_link",
        "secondary",
        "secondary_link",
        "tertiary",
        "tertiary_link",
        "unclassified",
    }
)


def road_lines(
    G: nx.MultiDiGraph,
    *,
    highway_classes: frozenset[str] | None = None,
    simplify_m: float = 0,
) -> gpd.GeoDataFrame:
    """Edges as lines, one per undirected road segment, for drawing.

    Parameters
    ----------
    highway_classes
        Keep only edges with one of these ``highway`` values (all when None).
    simplify_m
        Douglas-Peucker tolerance in metres (approximate, converted to degrees
        at the graph's latitude); 0 keeps the full geometry.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``u``, ``v``, ``name`` (str, "" when unnamed), ``highway``
        (the first class when several), ``oneway`` and ``geometry``; EPSG:4326.
    """
    edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).reset_index()
    if edges.empty:
        return gpd.GeoDataFrame(
            {"u": [], "v": [], "name": [], "highway": [], "oneway": []},
            geometry=[],
            crs="EPSG:4326",
        )
    edges["highway"] = edges["highway"].map(lambda v: (_values(v) or [""])[0])
    edges["name"] = (
        edges["name"].map(lambda v: "; ".join(dict.fromkeys(_values(v)))) if "name" in edges else ""
    )
    edges["oneway"] = edges["oneway"].astype(bool) if "oneway" in edges else False
    if highway_classes is not None:
        edges = edges[edges["highway"].isin(highway_classes)]
    a = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
    b = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
    edges = edges.assign(_a=a, _b=b, _len=edges["length"].round(1)).drop_duplicates(
        ["_a", "_b", "_len"]
    )
    out = gpd.GeoDataFrame(
        edges[["u", "v", "name", "highway", "oneway"]].reset_index(drop=True),
        geometry=edges.geometry.to_numpy(),
        crs="EPSG:4326",
    )
    if simplify_m > 0 and not out.empty:
        miny, maxy = out.total_bounds[1], out.total_bounds[3]
        lat = (miny + maxy) / 2.0
        tol = simplify_m / (111_320.0 * max(np.cos(np.radians(lat)), 0.1))
        out["geometry"] = out.geometry.simplify(tol, preserve_topology=False)
    return out
