"""Catchments around clinic sites: straight-line radius or drive time, as H3 cells.

A catchment is a set of H3 cells at one resolution with, per cell, either the
great-circle ``distance_km`` from the site to the cell centre (radius
catchments) or the shortest ``drive_minutes`` from the site (drive-time
catchments), plus the union outline of the cells.

Drive-time catchments snap the site to its nearest road-graph node, run one
Dijkstra over edge ``travel_time`` up to the cutoff and give each cell the
minimum drive time of the graph nodes inside it; with ``include_edge_cells``
they also sample points along every reached edge (partly reached edges up to
where the time runs out), so cells crossed by a road without a node in them
are included. Drive time from the site to its snapped node and from a road to
a point beside it are not counted.

A drive-time catchment is ``truncated`` when the search reached a node within
``edge_m`` metres of the road network's hull: the time limit was probably cut
short by the edge of the loaded extract. ``estimated`` marks catchments built
by :func:`estimated_drive_time_catchment` (no road network covers the site).

Not handled yet: turn costs, traffic by time of day, and sites that sit on a
one-way road's wrong side (the snapped node decides).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd
import shapely

from core.errors import GeoError, Problem, TerritoryError
from geo.distance import as_float_array, haversine_km, validate_coordinates
from geo.h3grid import (
    average_edge_km,
    cell_to_latlng,
    cells_to_geometry,
    cells_within_km,
    latlng_to_cells,
)
from geo.roads import boundary_nodes, drive_times_from, snap_to_graph

__all__ = [
    "Catchment",
    "drive_minutes_to_points",
    "drive_time_catchment",
    "estimated_drive_time_catchment",
    "graph_node_cells",
    "radius_catchment",
    "site_catchments",
]

Method = Literal["radius", "drive_time"]


@dataclass(frozen=True, eq=False)
class Catchment:
    """Cells around one site.

    Attributes
    ----------
    method
        ``"radius"`` or ``"drive_time"``.
    parameter
        Kilometres (radius) or minutes (drive time).
    resolution
        H3 resolution of the cells.
    cells
        ``h3`` (int64) plus ``distance_km`` (radius) or ``drive_minutes``
        (drive time), sorted by that value.
    geometry
        Union outline of the cells (EPSG:4326).
    truncated
        The drive-time search reached the edge of the loaded road network.
    estimated
        Drive time estimated from straight-line distance, not routed.
    snap_m
        Metres from the site to its road node (drive time only).
    """

    method: Method
    parameter: float
    resolution: int
    cells: pd.DataFrame
    geometry: shapely.Polygon | shapely.MultiPolygon
    truncated: bool = False
    estimated: bool = False
    snap_m: float | None = None
    site_node: int | None = field(default=None)


def _positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not (math.isfinite(float(value)) and float(value) > 0):
        raise TerritoryError(
            f"{name} must be positive",
            problems=[Problem(f"{name} must be > 0", field=name, value=str(value))],
        )
    return float(value)


def radius_catchment(lat: float, lon: float, *, km: float, res: int) -> Catchment:
    """Cells whose centre lies within ``km`` of the site (plus the site's own cell)."""
    km = _positive(km, "km")
    cells = cells_within_km(lat, lon, km=km, res=res)
    return Catchment("radius", km, res, cells, cells_to_geometry(cells["h3"]))


def estimated_drive_time_catchment(
    lat: float,
    lon: float,
    *,
    minutes: float,
    res: int,
    speed_kph: float = 30.0,
    detour: float = 1.3,
) -> Catchment:
    """Drive-time catchment guessed from straight-line distance (no road network).

    ``drive_minutes = distance_km * detour / speed_kph * 60``; cells are kept
    up to ``minutes``. Marked ``estimated=True``.
    """
    minutes = _positive(minutes, "minutes")
    speed_kph = _positive(speed_kph, "speed_kph")
    detour = _positive(detour, "detour")
    km = minutes / 60.0 * speed_kph / detour
    cells = cells_within_km(lat, lon, km=km, res=res)
    cells = pd.DataFrame(
        {"h3": cells["h3"], "drive_minutes": cells["distance_km"] * detour / speed_kph * 60.0}
    )
    return Catchment(
        "drive_time", minutes, res, cells, cells_to_geometry(cells["h3"]), estimated=True
    )


def graph_node_cells(G: nx.MultiDiGraph, *, res: int) -> pd.Series:
    """H3 cell (int64) of every graph node, indexed by node id; compute once, pass as ``node_cells``."""
    nodes = np.fromiter(G.nodes, dtype="int64", count=G.number_of_nodes())
    lat = np.array([G.nodes[n]["y"] for n in nodes.tolist()], dtype="float64")
    lon = np.array([G.nodes[n]["x"] for n in nodes.tolist()], dtype="float64")
    return pd.Series(
        latlng_to_cells(lat, lon, res) if nodes.size else np.empty(0, "int64"),
        index=pd.Index(nodes, name="node"),
        name="h3",
    )


def _snap_site(G: nx.MultiDiGraph, lat: float, lon: float, max_snap_m: float) -> tuple[int, float]:
    try:
        snapped = snap_to_graph(G, lat, lon)
    except GeoError as exc:
        raise TerritoryError("invalid site coordinates", problems=exc.problems) from None
    node, snap_m = int(snapped["node"].iloc[0]), float(snapped["snap_m"].iloc[0])
    if snap_m > max_snap_m:
        raise TerritoryError(
            "site is off the road network",
            problems=[
                Problem(
                    f"nearest road node is {snap_m:.0f} m away (limit {max_snap_m:.0f} m)",
                    field="lat/lon",
                    value=f"{lat:.6f}, {lon:.6f}",
                )
            ],
        )
    return node, snap_m


def _edge_samples(
    G: nx.MultiDiGraph, times: dict[int, float], cutoff_s: float, step_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points along reached edges with their drive seconds: (lat, lon, seconds)."""
    geoms, fracs, secs = [], [], []
    for u, t_u in times.items():
        for _, v, d in G.out_edges(u, data=True):
            tt = float(d.get("travel_time", np.inf))
            if not np.isfinite(tt) or tt <= 0:
                continue
            geom = d.get("geometry")
            if geom is None:
                geom = shapely.LineString(
                    [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
                )
            n = max(1, math.ceil(float(d.get("length", 0.0)) / step_m))
            f = np.arange(1, n + 1) / (n + 1)
            s = t_u + f * tt
            ok = s <= cutoff_s
            if ok.any():
                geoms.extend([geom] * int(ok.sum()))
                fracs.append(f[ok])
                secs.append(s[ok])
    if not geoms:
        return np.empty(0), np.empty(0), np.empty(0)
    pts = shapely.line_interpolate_point(
        np.asarray(geoms, dtype=object), np.concatenate(fracs), normalized=True
    )
    return shapely.get_y(pts), shapely.get_x(pts), np.concatenate(secs)


def _cells_from_times(
    G: nx.MultiDiGraph,
    times: dict[int, float],
    *,
    cutoff_s: float,
    res: int,
    node_cells: pd.Series | None,
    include_edge_cells: bool,
) -> pd.DataFrame:
    reached = np.fromiter(times.keys(), dtype="int64", count=len(times))
    secs = np.fromiter(times.values(), dtype="float64", count=len(times))
    keep = secs <= cutoff_s
    reached, secs = reached[keep], secs[keep]
    if node_cells is not None:
        known = node_cells.astype("Int64").reindex(reached)
    else:
        known = pd.Series(pd.NA, index=reached, dtype="Int64")
    todo = reached[known.isna().to_numpy()]
    if todo.size:  # nodes not in node_cells (or no node_cells): compute their cells now
        lat = np.array([G.nodes[n]["y"] for n in todo.tolist()])
        lon = np.array([G.nodes[n]["x"] for n in todo.tolist()])
        known.loc[todo] = latlng_to_cells(lat, lon, res)
    cells = known.to_numpy(dtype="int64") if reached.size else np.empty(0, "int64")
    if include_edge_cells:
        step = max(10.0, average_edge_km(res) * 1000.0 / 3.0)
        elat, elon, esec = _edge_samples(
            G, {int(n): float(t) for n, t in zip(reached, secs)}, cutoff_s, step
        )
        if esec.size:
            cells = np.concatenate([cells, latlng_to_cells(elat, elon, res)])
            secs = np.concatenate([secs, esec])
    frame = pd.DataFrame({"h3": cells.astype("int64"), "drive_minutes": secs / 60.0})
    frame = frame.groupby("h3", as_index=False, sort=False)["drive_minutes"].min()
    return frame.sort_values(["drive_minutes", "h3"], ignore_index=True)


def drive_time_catchment(
    G: nx.MultiDiGraph,
    lat: float,
    lon: float,
    *,
    minutes: float,
    res: int,
    node_cells: pd.Series | None = None,
    max_snap_m: float = 1000,
    include_edge_cells: bool = False,
    boundary: frozenset[int] | None = None,
    edge_m: float = 300.0,
) -> Catchment:
    """Cells reachable by car from the site within ``minutes``.

    Parameters
    ----------
    G
        Drive graph with ``travel_time`` (seconds) on edges, EPSG:4326 nodes.
    lat, lon
        The site.
    minutes
        Time limit.
    res
        H3 resolution.
    node_cells
        Precomputed :func:`graph_node_cells` at ``res`` (for many sites).
    max_snap_m
        Farthest acceptable distance from the site to a road node.
    include_edge_cells
        Also include cells crossed by reached edges (see module docstring).
    boundary
        Precomputed :func:`geo.roads.boundary_nodes` (for many sites).
    edge_m
        Distance to the network hull that counts as its edge (when
        ``boundary`` is not given).

    Raises
    ------
    TerritoryError
        If the site is farther than ``max_snap_m`` from any road node or has
        invalid coordinates.
    """
    minutes = _positive(minutes, "minutes")
    node, snap_m = _snap_site(G, lat, lon, float(max_snap_m))
    cutoff_s = minutes * 60.0
    times = drive_times_from(G, node, cutoff_s=cutoff_s)
    cells = _cells_from_times(
        G,
        times,
        cutoff_s=cutoff_s,
        res=res,
        node_cells=node_cells,
        include_edge_cells=include_edge_cells,
    )
    if boundary is None:
        boundary = boundary_nodes(G, within_m=edge_m)
    truncated = not boundary.isdisjoint(times.keys())
    return Catchment(
        "drive_time",
        minutes,
        res,
        cells,
        cells_to_geometry(cells["h3"]),
        truncated=truncated,
        snap_m=snap_m,
        site_node=node,
    )


def site_catchments(
    G: nx.MultiDiGraph | None,
    sites: pd.DataFrame,
    *,
    minutes: Sequence[float],
    radius_km: float | None,
    res: int,
    site_col: str = "site_id",
    lat_col: str = "lat",
    lon_col: str = "lon",
    max_snap_m: float = 1000,
    on_unreachable: Literal["raise", "estimate", "skip"] = "raise",
    include_edge_cells: bool = False,
) -> pd.DataFrame:
    """Radius and drive-time catchments of many sites as one long table.

    One Dijkstra per site (at the largest ``minutes``); node cells and the
    network's edge nodes are computed once.

    Parameters
    ----------
    G
        Drive graph; None builds only radius catchments and, with
        ``on_unreachable="estimate"``, estimated drive-time ones.
    sites
        One row per site with ``site_col``, ``lat_col`` and ``lon_col``.
    minutes
        Drive-time limits (may be empty).
    radius_km
        Radius catchment size, or None for none.
    on_unreachable
        For a site off the road network: raise (listing every such site),
        fall back to :func:`estimated_drive_time_catchment`, or skip its
        drive-time rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``site_id``, ``method``, ``parameter``, ``h3`` (int64),
        ``drive_minutes`` (NaN for radius rows), ``distance_km`` (site to cell
        centre, all rows), ``truncated`` and ``estimated``.
    """
    if not isinstance(sites, pd.DataFrame):
        raise TypeError(f"sites must be a DataFrame, not {type(sites).__name__}")
    if on_unreachable not in ("raise", "estimate", "skip"):
        raise ValueError(
            f"on_unreachable must be 'raise', 'estimate' or 'skip', not {on_unreachable!r}"
        )
    problems = [
        Problem("missing column", field=c) for c in (site_col, lat_col, lon_col) if c not in sites
    ]
    if problems:
        raise TerritoryError("sites table lacks columns", problems=problems)
    lat = as_float_array(sites[lat_col], name=lat_col)
    lon = as_float_array(sites[lon_col], name=lon_col)
    problems = validate_coordinates(lat, lon, lat_field=lat_col, lon_field=lon_col)
    mins = sorted({_positive(m, "minutes") for m in minutes})
    if radius_km is not None:
        _positive(radius_km, "radius_km")
    if G is None and mins and on_unreachable == "raise":
        problems.append(
            Problem("no road network loaded for drive-time catchments", field="minutes")
        )
    if problems:
        raise TerritoryError("cannot build catchments", problems=problems)

    node_cells = graph_node_cells(G, res=res) if G is not None and mins else None
    boundary = boundary_nodes(G) if G is not None and mins else frozenset()
    frames: list[pd.DataFrame] = []
    unreachable: list[Problem] = []
    for i, site_id in enumerate(sites[site_col].tolist()):
        y, x = float(lat[i]), float(lon[i])
        if radius_km is not None:
            frames.append(_rows(site_id, radius_catchment(y, x, km=radius_km, res=res), y, x))
        if not mins:
            continue
        try:
            if G is None:
                raise TerritoryError("no road network loaded")
            node, _ = _snap_site(G, y, x, float(max_snap_m))
        except TerritoryError as exc:
            if on_unreachable == "raise":
                unreachable.append(
                    Problem(exc.detail, line=None, field=site_col, value=str(site_id))
                )
            elif on_unreachable == "estimate":
                for m in mins:
                    frames.append(
                        _rows(
                            site_id, estimated_drive_time_catchment(y, x, minutes=m, res=res), y, x
                        )
                    )
            continue
        times = drive_times_from(G, node, cutoff_s=mins[-1] * 60.0)
        truncated_all = not boundary.isdisjoint(times.keys())
        for m in mins:
            cells = _cells_from_times(
                G,
                times,
                cutoff_s=m * 60.0,
                res=res,
                node_cells=node_cells,
                include_edge_cells=include_edge_cells,
            )
            within = {n for n, t in times.items() if t <= m * 60.0} if truncated_all else set()
            c = Catchment(
                "drive_time",
                m,
                res,
                cells,
                shapely.Polygon(),
                truncated=not boundary.isdisjoint(within),
            )
            frames.append(_rows(site_id, c, y, x))
    if unreachable:
        raise TerritoryError(
            f"{len(unreachable)} site(s) off the road network", problems=unreachable
        )
    columns = [
        "site_id",
        "method",
        "parameter",
        "h3",
        "drive_minutes",
        "distance_km",
        "truncated",
        "estimated",
    ]
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(
                    columns,
                    ["object", "object", "float64", "int64", "float64", "float64", "bool", "bool"],
                )
            }
        )
    return pd.concat(frames, ignore_index=True)[columns]


def _rows(site_id: object, c: Catchment, lat: float, lon: float) -> pd.DataFrame:
    cells = c.cells["h3"].to_numpy(dtype="int64")
    clat, clon = cell_to_latlng(cells)
    dist = haversine_km(lat, lon, clat, clon) if cells.size else np.empty(0)
    drive = (
        c.cells["drive_minutes"].to_numpy()
        if "drive_minutes" in c.cells
        else np.full(cells.size, np.nan)
    )
    return pd.DataFrame(
        {
            "site_id": [site_id] * cells.size,
            "method": c.method,
            "parameter": c.parameter,
            "h3": cells,
            "drive_minutes": drive,
            "distance_km": dist,
            "truncated": c.truncated,
            "estimated": c.estimated,
        }
    )


def drive_minutes_to_points(
    G: nx.MultiDiGraph,
    site_lat: float,
    site_lon: float,
    pts_lat: object,
    pts_lon: object,
    *,
    cutoff_min: float,
    max_snap_m: float = 1000,
    max_point_snap_m: float | None = None,
) -> np.ndarray:
    """Drive minutes from one site to many points (NaN beyond ``cutoff_min``).

    Points are snapped to their nearest road node and one Dijkstra runs from
    the site's node. Points farther than ``max_point_snap_m`` from any node
    (when given) also get NaN.

    Raises
    ------
    TerritoryError
        If the site is off the road network or any point has invalid
        coordinates (every one listed).
    """
    cutoff = _positive(cutoff_min, "cutoff_min")
    node, _ = _snap_site(G, site_lat, site_lon, float(max_snap_m))
    try:
        snapped = snap_to_graph(G, pts_lat, pts_lon)
    except GeoError as exc:
        raise TerritoryError("invalid point coordinates", problems=exc.problems) from None
    times = drive_times_from(G, node, cutoff_s=cutoff * 60.0)
    secs = pd.Series(times, dtype="float64")
    out = secs.reindex(snapped["node"].to_numpy()).to_numpy(dtype="float64") / 60.0
    if max_point_snap_m is not None:
        out[snapped["snap_m"].to_numpy() > max_point_snap_m] = np.nan
    return out
