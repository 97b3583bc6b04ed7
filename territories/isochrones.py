"""Drive-time isochrones, nearest-site assignment and catchment overlap.

Pure functions over a :class:`geo.routing.RoadRouter` (or ``None`` when no road
network covers the area) and DataFrames of sites and points.

* :func:`site_isochrones` gives, per site and time limit, the H3 cells whose
  road nodes are reached in time (each with its drive minutes) and, through
  :meth:`Isochrones.polygons`, their outlines. An isochrone is ``truncated``
  when its search reached a node at the edge of the loaded road network.
* :func:`nearest_site_for_points` and :func:`nearest_site_for_cells` assign
  every provider or cell to the site with the shortest drive time (one
  multi-source Dijkstra for all sites).
* :func:`catchment_overlap` measures how much sites' isochrones share.

Fallback (a site or point farther than ``max_snap_m`` from any road, or no
network at all): drive time is *estimated* from great-circle distance as
``km * circuity / speed_kph * 60`` and every such row carries
``estimated=True`` (:class:`Fallback` holds the two parameters). A point's
access leg to its snapped road node is added to routed times at the fallback
speed (``snap_m * circuity / speed``), so a provider 300 m off the road is not
counted as on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from core.errors import GeoError, Problem, TerritoryError
from geo.distance import as_float_array, haversine_km, validate_coordinates
from geo.h3grid import cell_to_latlng, cells_to_geometry, cells_within_km, latlng_to_cells
from geo.routing import RoadRouter

__all__ = [
    "Fallback",
    "Isochrones",
    "catchment_overlap",
    "nearest_site_for_cells",
    "nearest_site_for_points",
    "site_isochrones",
]


@dataclass(frozen=True, slots=True)
class Fallback:
    """Straight-line drive-time estimate: ``minutes = km * circuity / speed_kph * 60``.

    Attributes
    ----------
    circuity
        Road distance over great-circle distance (about 1.2-1.4 in cities).
    speed_kph
        Average door-to-door speed.
    """

    circuity: float = 1.3
    speed_kph: float = 30.0

    def __post_init__(self) -> None:
        problems = [
            Problem("must be a positive number", field=name, value=str(v))
            for name, v in (("circuity", self.circuity), ("speed_kph", self.speed_kph))
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v > 0 and math.isfinite(v))
        ]
        if not problems and self.circuity < 1:
            problems.append(Problem("circuity must be >= 1", field="circuity", value=str(self.circuity)))
        if problems:
            raise TerritoryError("invalid fallback parameters", problems=problems)

    def minutes(self, km: np.ndarray | float) -> np.ndarray:
        """Estimated drive minutes for great-circle kilometres."""
        return np.asarray(km, dtype="float64") * self.circuity / self.speed_kph * 60.0

    def km(self, minutes: float) -> float:
        """Great-circle reach of ``minutes`` of driving."""
        return minutes / 60.0 * self.speed_kph / self.circuity


@dataclass(frozen=True, eq=False)
class Isochrones:
    """Isochrones of several sites at several time limits.

    Attributes
    ----------
    cells
        Long table: ``site_id``, ``minutes``, ``h3`` (int64), ``drive_minutes``.
    summary
        One row per (site, minutes): ``site_id``, ``minutes``, ``cell_count``,
        ``truncated``, ``estimated``, ``snap_m`` (NaN without a network) and
        ``off_network``.
    """

    cells: pd.DataFrame
    summary: pd.DataFrame

    def polygons(self) -> gpd.GeoDataFrame:
        """The summary with each isochrone's outline (union of its H3 cells), EPSG:4326."""
        groups = {k: g["h3"].to_numpy() for k, g in self.cells.groupby(["site_id", "minutes"])}
        geoms = [
            cells_to_geometry(groups.get((s, m), np.empty(0, "int64")))
            for s, m in zip(self.summary["site_id"], self.summary["minutes"], strict=True)
        ]
        return gpd.GeoDataFrame(self.summary.copy(), geometry=geoms, crs="EPSG:4326")


def _minutes(minutes: Sequence[float]) -> list[float]:
    values = list(minutes)
    bad = [
        Problem("must be a positive number of minutes", field="minutes", value=str(m))
        for m in values
        if isinstance(m, bool) or not isinstance(m, (int, float, np.number))
        or not (m > 0 and math.isfinite(m))
    ]
    if not values:
        bad.append(Problem("at least one time limit is needed", field="minutes"))
    if bad:
        raise TerritoryError("invalid isochrone minutes", problems=bad)
    return sorted({float(m) for m in values})


def _sites(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list]:
    if not isinstance(sites, pd.DataFrame):
        raise TypeError(f"sites must be a DataFrame, not {type(sites).__name__}")
    problems = [Problem("missing column", field=c) for c in ("site_id", "lat", "lon") if c not in sites]
    if problems:
        raise TerritoryError("sites table lacks columns", problems=problems)
    lat = as_float_array(sites["lat"], name="lat")
    lon = as_float_array(sites["lon"], name="lon")
    problems = validate_coordinates(lat, lon)
    if sites["site_id"].duplicated().any():
        problems.append(Problem("duplicate site ids", field="site_id"))
    if problems:
        raise TerritoryError("invalid sites", problems=problems)
    return lat, lon, sites["site_id"].tolist()


def site_isochrones(
    router: RoadRouter | None,
    sites: pd.DataFrame,
    *,
    minutes: Sequence[float],
    res: int,
    max_snap_m: float = 500.0,
    fallback: Fallback = Fallback(),
) -> Isochrones:
    """Drive-time isochrones of every site as H3 cell sets.

    Parameters
    ----------
    router
        Road network, or None to estimate every isochrone.
    sites
        ``site_id``, ``lat``, ``lon``.
    minutes
        Time limits (e.g. ``[10, 20, 30]``).
    res
        H3 resolution of the cells.
    max_snap_m
        A site farther than this from any road node gets an estimated isochrone.
    fallback
        Straight-line estimate used off the network.

    Returns
    -------
    Isochrones
        A cell is in an isochrone when one of its road nodes is reached within
        the limit; its ``drive_minutes`` is the fastest of those nodes (the
        site's own access leg is not counted).

    Raises
    ------
    TerritoryError
        For invalid minutes or sites (every problem listed).
    """
    mins = _minutes(minutes)
    lat, lon, ids = _sites(sites)
    frames, rows = [], []
    snapped = router.snap(lat, lon, max_snap_m=max_snap_m) if router is not None else None
    node_cells = router.node_cells(res) if router is not None else None
    for i, site_id in enumerate(ids):
        if snapped is None or bool(snapped["off_network"].iloc[i]):
            snap = np.nan if snapped is None else float(snapped["snap_m"].iloc[i])
            for m in mins:
                near = cells_within_km(float(lat[i]), float(lon[i]), km=fallback.km(m), res=res)
                frames.append(pd.DataFrame({"site_id": site_id, "minutes": m, "h3": near["h3"],
                                            "drive_minutes": fallback.minutes(near["distance_km"])}))
                rows.append((site_id, m, len(near), False, True, snap, snapped is not None))
            continue
        secs = router.times_from(int(snapped["position"].iloc[i]), cutoff_s=mins[-1] * 60.0)
        reached = np.flatnonzero(np.isfinite(secs))
        reached_s = secs[reached]
        per_cell = (pd.DataFrame({"h3": node_cells[reached], "s": reached_s})
                    .groupby("h3", sort=False)["s"].min())
        edge_s = reached_s[router.boundary[reached]]
        first_edge = float(edge_s.min()) if edge_s.size else np.inf
        for m in mins:
            within = per_cell[per_cell <= m * 60.0]
            frames.append(pd.DataFrame({"site_id": site_id, "minutes": m,
                                        "h3": within.index.to_numpy("int64"),
                                        "drive_minutes": within.to_numpy() / 60.0}))
            rows.append((site_id, m, len(within), first_edge <= m * 60.0, False,
                         float(snapped["snap_m"].iloc[i]), False))
    cells = (pd.concat(frames, ignore_index=True) if frames else
             pd.DataFrame({"site_id": [], "minutes": [], "h3": np.empty(0, "int64"),
                           "drive_minutes": []}))
    cells = cells.sort_values(["site_id", "minutes", "drive_minutes", "h3"], ignore_index=True)
    summary = pd.DataFrame(rows, columns=["site_id", "minutes", "cell_count", "truncated",
                                          "estimated", "snap_m", "off_network"])
    return Isochrones(cells, summary)


def _routed_minutes(
    router: RoadRouter, site_lat: np.ndarray, site_lon: np.ndarray, lat: np.ndarray,
    lon: np.ndarray, *, max_snap_m: float, fallback: Fallback,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(minutes, site index, snap_m) by road from on-network sites; inf/-1 where none."""
    s = router.snap(site_lat, site_lon, max_snap_m=max_snap_m)
    on = np.flatnonzero(~s["off_network"].to_numpy())
    p = router.snap(lat, lon)
    if on.size == 0:
        return np.full(lat.size, np.inf), np.full(lat.size, -1), p["snap_m"].to_numpy()
    secs, src = router.nearest_source(s["position"].to_numpy()[on])
    pos = p["position"].to_numpy()
    snap_m = p["snap_m"].to_numpy()
    minutes = secs[pos] / 60.0 + fallback.minutes(snap_m / 1000.0)
    site = np.where(src[pos] >= 0, on[np.maximum(src[pos], 0)], -1)
    far = snap_m > max_snap_m
    minutes[far | (site < 0)] = np.inf
    site[far] = -1
    return minutes, site, snap_m


def nearest_site_for_points(
    router: RoadRouter | None,
    sites: pd.DataFrame,
    lat: object,
    lon: object,
    *,
    max_snap_m: float = 500.0,
    fallback: Fallback = Fallback(),
) -> pd.DataFrame:
    """The site each point (provider) reaches fastest.

    Points on the network are routed (plus their access leg); points farther
    than ``max_snap_m`` from a road, points no routed site reaches, and sites
    off the network are compared by the straight-line estimate instead.

    Returns
    -------
    pandas.DataFrame
        One row per point, in input order: ``site_id``, ``drive_minutes``,
        ``estimated`` (the winning time is a straight-line estimate) and
        ``snap_m`` (NaN without a network).

    Raises
    ------
    TerritoryError
        For invalid sites or point coordinates (every one listed).
    """
    slat, slon, ids = _sites(sites)
    la = as_float_array(lat, name="lat")
    lo = as_float_array(lon, name="lon")
    problems = validate_coordinates(la, lo)
    if problems:
        raise TerritoryError(f"{len(problems)} invalid point coordinate(s)", problems=problems)
    if not ids:
        raise TerritoryError("no sites to assign to", problems=[Problem("empty", field="sites")])
    # straight-line estimate to every site (small: sites x points, chunked by site)
    est = np.full(la.size, np.inf)
    est_site = np.full(la.size, -1)
    off = np.ones(len(ids), bool)
    if router is not None:
        off = router.snap(slat, slon, max_snap_m=max_snap_m)["off_network"].to_numpy()
    routed, routed_site, snap_m = (
        _routed_minutes(router, slat, slon, la, lo, max_snap_m=max_snap_m, fallback=fallback)
        if router is not None
        else (np.full(la.size, np.inf), np.full(la.size, -1), np.full(la.size, np.nan))
    )
    needs = ~np.isfinite(routed)  # off-road points: compare with every site
    for j in range(len(ids)):
        mask = needs | off[j]
        if not mask.any():
            continue
        m = fallback.minutes(haversine_km(slat[j], slon[j], la[mask], lo[mask]))
        cur = est[mask]
        better = m < cur
        idx = np.flatnonzero(mask)[better]
        est[idx] = m[better]
        est_site[idx] = j
    use_est = est < routed
    site = np.where(use_est, est_site, routed_site)
    ids_arr = np.asarray(ids, dtype=object)
    return pd.DataFrame({
        "site_id": ids_arr[site],
        "drive_minutes": np.where(use_est, est, routed),
        "estimated": use_est,
        "snap_m": snap_m,
    })


def nearest_site_for_cells(
    router: RoadRouter | None,
    sites: pd.DataFrame,
    cells: object,
    *,
    res: int,
    max_snap_m: float = 500.0,
    fallback: Fallback = Fallback(),
) -> pd.DataFrame:
    """The site each H3 cell reaches fastest, from the cell's centre.

    Returns
    -------
    pandas.DataFrame
        ``h3`` plus the columns of :func:`nearest_site_for_points`.
    """
    arr = np.unique(np.asarray(cells, dtype="int64"))
    if arr.size and (latlng_to_cells(*cell_to_latlng(arr[:1]), res)[0] != arr[0]):
        raise GeoError("cells are not at the given resolution",
                       problems=[Problem("resolution mismatch", field="res", value=str(res))])
    clat, clon = cell_to_latlng(arr)
    out = nearest_site_for_points(router, sites, clat, clon, max_snap_m=max_snap_m,
                                  fallback=fallback)
    out.insert(0, "h3", arr)
    return out


def catchment_overlap(cells: pd.DataFrame, *, weights: pd.Series | None = None) -> pd.DataFrame:
    """Pairwise overlap of sites' cell sets (one time limit at a time).

    Parameters
    ----------
    cells
        ``site_id`` and ``h3`` (e.g. :attr:`Isochrones.cells` filtered to
        one ``minutes``).
    weights
        Optional demand per cell (indexed by h3), e.g. providers per cell.

    Returns
    -------
    pandas.DataFrame
        One row per unordered pair of sites sharing at least one cell:
        ``site_a``, ``site_b``, ``shared_cells``, ``share_a`` and ``share_b``
        (shared cells over each site's cells) and, with ``weights``,
        ``shared_weight``.
    """
    missing = [c for c in ("site_id", "h3") if c not in cells]
    if missing:
        raise TerritoryError("cells table lacks columns",
                             problems=[Problem("missing column", field=c) for c in missing])
    pairs = cells[["site_id", "h3"]].drop_duplicates()
    sizes = pairs.groupby("site_id").size()
    joined = pairs.merge(pairs, on="h3", suffixes=("_a", "_b"))
    joined = joined[joined["site_id_a"].astype(str) < joined["site_id_b"].astype(str)]
    if weights is not None:
        joined = joined.assign(w=weights.reindex(joined["h3"].to_numpy()).fillna(0).to_numpy())
    agg = {"shared_cells": ("h3", "size")}
    if weights is not None:
        agg["shared_weight"] = ("w", "sum")
    out = joined.groupby(["site_id_a", "site_id_b"], as_index=False).agg(**agg)
    out = out.rename(columns={"site_id_a": "site_a", "site_id_b": "site_b"})
    out["share_a"] = out["shared_cells"] / sizes.reindex(out["site_a"]).to_numpy()
    out["share_b"] = out["shared_cells"] / sizes.reindex(out["site_b"]).to_numpy()
    return out.sort_values(["shared_cells", "site_a"], ascending=[False, True], ignore_index=True)
