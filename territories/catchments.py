"""Catchments around clinic sites: straight-line radius or drive time, as H3 cells.

A catchment is a set of H3 cells at one resolution with, per cell, either the
great-circle ``distance_km`` from the site to the cell centre (radius
catchments) or the shortest ``drive_minutes`` from the site (drive-time
catchments), plus the union outline of the cells.

A drive-time catchment *is* the site's isochrone at that time limit
(:func:`territories.isochrones.site_isochrones`): the same router, snapping
rule, access legs and straight-line fallback as every other drive time, so a
stored catchment, the planning map and the prospect list agree. A site off the
road network (or with no network loaded) gets the fallback's disc, flagged
``estimated``; ``truncated`` marks a search that reached the edge of the
loaded extract.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import shapely

from core.checks import finite_number
from core.errors import Problem, TerritoryError
from geo.distance import as_float_array, haversine_km, validate_coordinates
from geo.drive_times import DEFAULT_MAX_SNAP_M
from geo.fallback import Fallback
from geo.h3grid import cell_to_latlng, cells_to_geometry, cells_within_km
from geo.road_router import RoadRouter
from territories.isochrones import site_isochrones

__all__ = ["Catchment", "radius_catchment", "site_catchments"]

Method = Literal["radius", "drive_time"]

COLUMNS = [
    "site_id",
    "method",
    "parameter",
    "h3",
    "drive_minutes",
    "distance_km",
    "truncated",
    "estimated",
    "snap_m",
]
_DTYPES = ["object", "object", "float64", "int64", "float64", "float64", "bool", "bool", "float64"]


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
    """

    method: Method
    parameter: float
    resolution: int
    cells: pd.DataFrame
    geometry: shapely.Polygon | shapely.MultiPolygon


def radius_catchment(lat: float, lon: float, *, km: float, res: int) -> Catchment:
    """Cells whose centre lies within ``km`` of the site (plus the site's own cell)."""
    problems: list[Problem] = []
    radius = finite_number(km, field="km", problems=problems, gt=0)
    if radius is None:
        raise TerritoryError("km must be positive", problems=problems)
    km = radius
    cells = cells_within_km(lat, lon, km=km, res=res)
    return Catchment("radius", km, res, cells, cells_to_geometry(cells["h3"]))


def site_catchments(
    router: RoadRouter | None,
    sites: pd.DataFrame,
    *,
    minutes: Sequence[float],
    radius_km: float | None,
    res: int,
    site_col: str = "site_id",
    lat_col: str = "lat",
    lon_col: str = "lon",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    fallback: Fallback = Fallback(),
    on_unreachable: Literal["raise", "estimate", "skip"] = "raise",
) -> pd.DataFrame:
    """Radius and drive-time catchments of many sites as one long table.

    Parameters
    ----------
    router
        Road network; None builds only radius catchments and, with
        ``on_unreachable="estimate"``, estimated drive-time ones.
    sites
        One row per site with ``site_col``, ``lat_col`` and ``lon_col``.
    minutes
        Drive-time limits (may be empty).
    radius_km
        Radius catchment size, or None for none.
    max_snap_m, fallback
        The snapping rule and straight-line estimate (the settings').
    on_unreachable
        For a site off the road network: raise (listing every such site),
        keep the fallback's estimated catchment, or skip its drive-time rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``site_id``, ``method``, ``parameter``, ``h3`` (int64),
        ``drive_minutes`` (NaN for radius rows), ``distance_km`` (site to cell
        centre, all rows), ``truncated``, ``estimated`` and ``snap_m`` (metres
        from the site to its road node; NaN for radius rows or without a network).
    """
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
    checked = [finite_number(m, field="minutes", problems=problems, gt=0) for m in minutes]
    mins = sorted({m for m in checked if m is not None})
    if radius_km is not None:
        finite_number(radius_km, field="radius_km", problems=problems, gt=0)
    if router is None and mins and on_unreachable == "raise":
        problems.append(
            Problem("no road network loaded for drive-time catchments", field="minutes")
        )
    if problems:
        raise TerritoryError("cannot build catchments", problems=problems)

    ids = sites[site_col].to_numpy(dtype=object)
    frames: list[pd.DataFrame] = []
    if radius_km is not None:
        for i in range(ids.size):
            c = radius_catchment(float(lat[i]), float(lon[i]), km=radius_km, res=res)
            frames.append(
                _frame(
                    i,
                    "radius",
                    radius_km,
                    c.cells["h3"].to_numpy("int64"),
                    np.full(len(c.cells), np.nan),
                    False,
                    False,
                    np.nan,
                )
            )
    if mins:
        frames += _drive_frames(
            router,
            ids,
            lat,
            lon,
            mins,
            res,
            site_col=site_col,
            max_snap_m=max_snap_m,
            fallback=fallback,
            on_unreachable=on_unreachable,
        )
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(COLUMNS, _DTYPES)})
    out = pd.concat(frames, ignore_index=True).sort_values("site", kind="stable")
    clat, clon = cell_to_latlng(out["h3"].to_numpy("int64"))
    site = out["site"].to_numpy()
    out["distance_km"] = haversine_km(lat[site], lon[site], clat, clon) if len(out) else []
    out["site_id"] = ids[site]
    return out[COLUMNS].reset_index(drop=True)


def _frame(
    site: int,
    method: str,
    parameter: float,
    h3: np.ndarray,
    drive: np.ndarray,
    truncated: bool,
    estimated: bool,
    snap_m: float,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": site,
            "method": method,
            "parameter": float(parameter),
            "h3": h3,
            "drive_minutes": drive,
            "truncated": truncated,
            "estimated": estimated,
            "snap_m": snap_m,
        }
    )


def _drive_frames(
    router: RoadRouter | None,
    ids: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    mins: list[float],
    res: int,
    *,
    site_col: str,
    max_snap_m: float,
    fallback: Fallback,
    on_unreachable: str,
) -> list[pd.DataFrame]:
    """The drive-time rows: each site's isochrones, with the policy for sites off the network."""
    table = pd.DataFrame({"site_id": np.arange(ids.size), "lat": lat, "lon": lon})
    iso = site_isochrones(
        router, table, minutes=mins, res=res, max_snap_m=max_snap_m, fallback=fallback
    )
    summary = iso.summary.set_index(["site_id", "minutes"])
    off = iso.summary.groupby("site_id")["estimated"].any()
    if on_unreachable == "raise" and off.any():
        snap = iso.summary.groupby("site_id")["snap_m"].first()
        raise TerritoryError(
            f"{int(off.sum())} site(s) off the road network",
            problems=[
                Problem(
                    f"nearest road node is {snap[i]:.0f} m away (limit {max_snap_m:.0f} m)",
                    field=site_col,
                    value=str(ids[i]),
                )
                for i in off.index[off.to_numpy()]
            ],
        )
    frames = []
    for (i, m), cells in iso.cells.groupby(["site_id", "minutes"], sort=True):
        if on_unreachable == "skip" and off[i]:
            continue
        row = summary.loc[(i, m)]
        frames.append(
            _frame(
                int(i),
                "drive_time",
                m,
                cells["h3"].to_numpy("int64"),
                cells["drive_minutes"].to_numpy(),
                bool(row["truncated"]),
                bool(row["estimated"]),
                float(row["snap_m"]),
            )
        )
    return frames
