"""Drive-time isochrones, nearest-site assignment and catchment overlap.

Pure functions over a :class:`geo.road_router.RoadRouter` (or ``None`` when no road
network covers the area) and DataFrames of sites and points. Every drive time
here follows the one rule of :mod:`geo.drive_times` (snapping within
``max_snap_m``, access legs at the fallback speed, the straight-line
:class:`~geo.fallback.Fallback` elsewhere, flagged ``estimated``).

* :func:`site_isochrones` gives, per site and time limit, the H3 cells whose
  road nodes are reached in time (each with its drive minutes, the site's
  access leg included) and, through :meth:`Isochrones.polygons`, their
  outlines. An isochrone is ``truncated`` when its search reached a node at
  the edge of the loaded road network.
* :func:`nearest_site_for_points` and :func:`nearest_site_for_cells` assign
  every provider or cell to the site with the shortest drive time (one
  multi-source search for all sites).
* :func:`catchment_overlap` measures how much sites' isochrones share.

Off the network (a site farther than ``max_snap_m`` from any road, or no
network at all) an isochrone is the disc the fallback reaches, its cells
timed by the fallback and the row ``estimated``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from core.checks import finite_number
from core.errors import GeoError, Problem, TerritoryError
from geo.distance import as_float_array, haversine_km, validate_coordinates
from geo.drive_times import DEFAULT_MAX_SNAP_M, Legs, point_legs
from geo.fallback import Fallback
from geo.h3grid import cell_to_latlng, cells_to_geometry, cells_within_km, latlng_to_cells
from geo.road_router import RoadRouter

__all__ = [
    "Isochrones",
    "catchment_overlap",
    "nearest_site_for_cells",
    "nearest_site_for_points",
    "site_isochrones",
]


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
    bad: list[Problem] = []
    checked = [finite_number(m, field="minutes", problems=bad, gt=0) for m in minutes]
    if not checked:
        bad.append(Problem("at least one time limit is needed", field="minutes"))
    if bad:
        raise TerritoryError("invalid isochrone minutes", problems=bad)
    return sorted({m for m in checked if m is not None})


def _sites(sites: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    problems = [
        Problem("missing column", field=c) for c in ("site_id", "lat", "lon") if c not in sites
    ]
    if problems:
        raise TerritoryError("sites table lacks columns", problems=problems)
    lat = as_float_array(sites["lat"], name="lat")
    lon = as_float_array(sites["lon"], name="lon")
    problems = validate_coordinates(lat, lon)
    if sites["site_id"].duplicated().any():
        problems.append(Problem("duplicate site ids", field="site_id"))
    if problems:
        raise TerritoryError("invalid sites", problems=problems)
    return lat, lon, sites["site_id"].to_numpy()


def site_isochrones(
    router: RoadRouter | None,
    sites: pd.DataFrame,
    *,
    minutes: Sequence[float],
    res: int,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
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
        Straight-line estimate used off the network, and the access legs' speed.

    Returns
    -------
    Isochrones
        A cell is in an isochrone when one of its road nodes is reached within
        the limit; its ``drive_minutes`` is the fastest of those nodes, the
        site's walk to its road node included (as in every drive time).

    Raises
    ------
    TerritoryError
        For invalid minutes or sites (every problem listed).
    """
    mins = _minutes(minutes)
    lat, lon, ids = _sites(sites)
    legs = point_legs(router, lat, lon, max_snap_m=max_snap_m, fallback=fallback)
    parts: list[tuple[int, float, np.ndarray, np.ndarray]] = []
    rows = []
    for i, site_id in enumerate(ids.tolist()):
        snap = float(legs.snap_m[i])
        if router is None or not legs.routed[i]:
            for m in mins:
                near = cells_within_km(float(lat[i]), float(lon[i]), km=fallback.km(m), res=res)
                parts.append(
                    (
                        i,
                        m,
                        near["h3"].to_numpy("int64"),
                        fallback.minutes(near["distance_km"].to_numpy()),
                    )
                )
                rows.append((site_id, m, len(near), False, True, snap, router is not None))
            continue
        secs, _ = router.search(
            legs.position[i], offset_s=legs.leg_min[i] * 60.0, cutoff_s=mins[-1] * 60.0
        )
        cells, best = router.cell_times(secs, res)
        edge_s = secs[router.boundary]
        first_edge = float(edge_s.min()) if edge_s.size else np.inf
        for m in mins:
            within = best <= m * 60.0
            parts.append((i, m, cells[within], best[within] / 60.0))
            rows.append((site_id, m, int(within.sum()), first_edge <= m * 60.0, False, snap, False))
    cells = _long_table(ids, parts)
    summary = pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "minutes",
            "cell_count",
            "truncated",
            "estimated",
            "snap_m",
            "off_network",
        ],
    )
    return Isochrones(cells, summary)


def _long_table(
    ids: np.ndarray, parts: list[tuple[int, float, np.ndarray, np.ndarray]]
) -> pd.DataFrame:
    """``site_id``, ``minutes``, ``h3``, ``drive_minutes`` sorted by them, built in one go."""
    rank = np.empty(ids.size, "int64")
    rank[pd.Index(ids).argsort()] = np.arange(ids.size)
    parts = sorted(parts, key=lambda p: (rank[p[0]], p[1]))
    orders = [np.lexsort((p[2], p[3])) for p in parts]  # each part: by time, then cell
    sizes = np.array([p[2].size for p in parts], dtype="int64")
    site = np.repeat(np.array([p[0] for p in parts], dtype="int64"), sizes)
    mins = np.repeat(np.array([p[1] for p in parts], dtype="float64"), sizes)
    h3 = np.concatenate([p[2][o] for p, o in zip(parts, orders)]) if parts else np.empty(0, "int64")
    drive = np.concatenate([p[3][o] for p, o in zip(parts, orders)]) if parts else np.empty(0)
    return pd.DataFrame(
        {"site_id": ids[site], "minutes": mins, "h3": h3.astype("int64"), "drive_minutes": drive}
    )


def _routed_minutes(router: RoadRouter, sites: Legs, pts: Legs) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, site index) by road from on-network sites to routed points; inf/-1 where none."""
    minutes = np.full(pts.position.size, np.inf)
    site = np.full(pts.position.size, -1)
    on = np.flatnonzero(sites.routed)
    if on.size == 0 or not pts.routed.any():
        return minutes, site
    secs, src = router.search(sites.position[on], offset_s=sites.leg_min[on] * 60.0)
    pos = pts.position
    reached = pts.routed & (src[pos] >= 0)
    minutes[reached] = secs[pos[reached]] / 60.0 + pts.leg_min[reached]
    site[reached] = on[src[pos[reached]]]
    return minutes, site


def nearest_site_for_points(
    router: RoadRouter | None,
    sites: pd.DataFrame,
    lat: object,
    lon: object,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
) -> pd.DataFrame:
    """The site each point (provider) reaches fastest.

    Points on the network are routed from on-network sites (access legs
    included); points farther than ``max_snap_m`` from a road, points no
    routed site reaches, and sites off the network are compared by the
    straight-line estimate instead.

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
    if not ids.size:
        raise TerritoryError("no sites to assign to", problems=[Problem("empty", field="sites")])
    site_legs = point_legs(router, slat, slon, max_snap_m=max_snap_m, fallback=fallback)
    pts = point_legs(router, la, lo, max_snap_m=max_snap_m, fallback=fallback)
    if router is not None:
        routed, routed_site = _routed_minutes(router, site_legs, pts)
    else:
        routed, routed_site = np.full(la.size, np.inf), np.full(la.size, -1)
    # straight-line estimate where no road answers (small: sites x points, by site)
    est = np.full(la.size, np.inf)
    est_site = np.full(la.size, -1)
    needs = ~np.isfinite(routed)
    off = ~site_legs.routed
    for j in range(ids.size):
        mask = needs | off[j]
        if not mask.any():
            continue
        m = fallback.minutes(haversine_km(slat[j], slon[j], la[mask], lo[mask]))
        better = m < est[mask]
        idx = np.flatnonzero(mask)[better]
        est[idx] = m[better]
        est_site[idx] = j
    use_est = est < routed
    site = np.where(use_est, est_site, routed_site)
    return pd.DataFrame(
        {
            "site_id": np.asarray(ids, dtype=object)[site],
            "drive_minutes": np.where(use_est, est, routed),
            "estimated": use_est,
            "snap_m": pts.snap_m,
        }
    )


def nearest_site_for_cells(
    router: RoadRouter | None,
    sites: pd.DataFrame,
    cells: object,
    *,
    res: int,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
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
        raise GeoError(
            "cells are not at the given resolution",
            problems=[Problem("resolution mismatch", field="res", value=str(res))],
        )
    clat, clon = cell_to_latlng(arr)
    out = nearest_site_for_points(
        router, sites, clat, clon, max_snap_m=max_snap_m, fallback=fallback
    )
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
        raise TerritoryError(
            "cells table lacks columns",
            problems=[Problem("missing column", field=c) for c in missing],
        )
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
