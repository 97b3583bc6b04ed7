"""Great-circle distances and coordinate validation.

Everything here is vectorised with numpy and works on scalars or array-likes.
Distances use a spherical Earth of mean radius 6,371.0088 km (the IUGG mean
radius, also used by h3 and osmnx); the error against the WGS84 ellipsoid is
below 0.5 %, which is far below the precision of ZIP- or street-level points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from core.errors import GeoError, Problem

EARTH_RADIUS_KM = 6371.0088

__all__ = [
    "EARTH_RADIUS_KM",
    "as_float_array",
    "bounding_box",
    "haversine_km",
    "validate_coordinates",
]


def as_float_array(values: Any, *, name: str) -> npt.NDArray[np.float64]:
    """Turn a scalar or array-like of numbers into a 1-D float array.

    Parameters
    ----------
    values
        A number, a sequence of numbers, a numpy array or a pandas Series.
        ``None`` and pandas missing values become NaN.
    name
        Argument name, used in the error message.

    Returns
    -------
    numpy.ndarray
        One-dimensional float64 array (a scalar becomes length 1).

    Raises
    ------
    GeoError
        If the values are not numeric (text, objects, booleans), naming ``name``.
    """
    if isinstance(values, (str, bytes, bool, np.bool_)):
        raise GeoError(
            f"{name} must be numeric",
            problems=[
                Problem(
                    f"must be numeric, not {type(values).__name__}", field=name, value=str(values)
                )
            ],
        )
    try:
        if hasattr(values, "to_numpy"):
            arr = values.to_numpy(dtype="float64", na_value=np.nan)
        else:
            arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise GeoError(
            f"{name} must be numeric", problems=[Problem(f"must be numeric: {exc}", field=name)]
        ) from None
    return np.atleast_1d(arr).astype("float64", copy=False).ravel()


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> npt.NDArray[np.float64]:
    """Great-circle distance in kilometres between point pairs.

    Parameters
    ----------
    lat1, lon1
        First points in degrees (scalars or array-likes).
    lat2, lon2
        Second points in degrees; broadcast against the first points.

    Returns
    -------
    numpy.ndarray
        Distances in km, shaped by numpy broadcasting of the inputs (a 1-D
        array; length 1 for scalar inputs). NaN where any input is NaN.
    """
    la1 = np.radians(as_float_array(lat1, name="lat1"))
    lo1 = np.radians(as_float_array(lon1, name="lon1"))
    la2 = np.radians(as_float_array(lat2, name="lat2"))
    lo2 = np.radians(as_float_array(lon2, name="lon2"))
    dlat = la2 - la1
    dlon = lo2 - lo1
    a = np.sin(dlat / 2.0) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlon / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def bounding_box(lat: float, lon: float, km: float) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` in degrees holding every point within ``km`` of a place.

    Great-circle kilometres on the sphere of :func:`haversine_km`. The latitudes
    are the place's give or take the angular radius; the longitudes are the
    widest the circle reaches, ``asin(sin(radius) / cos(lat))`` either side
    (where it touches its tangent meridians, not at the place's latitude). When
    the circle holds a pole or crosses the antimeridian, the longitudes are the
    whole [-180, 180]: the box is never smaller than the circle, only wider.
    """
    if not (km >= 0):
        raise ValueError("the radius must be >= 0")
    radius = km / EARTH_RADIUS_KM
    south = max(lat - np.degrees(radius), -90.0)
    north = min(lat + np.degrees(radius), 90.0)
    if radius >= np.pi / 2 or south <= -90.0 or north >= 90.0:  # a pole inside: every longitude
        return -180.0, float(south), 180.0, float(north)
    half = np.degrees(np.arcsin(min(np.sin(radius) / np.cos(np.radians(lat)), 1.0)))
    west, east = lon - half, lon + half
    if west < -180.0 or east > 180.0:  # across the antimeridian: one box of every longitude
        return -180.0, float(south), 180.0, float(north)
    return float(west), float(south), float(east), float(north)


def validate_coordinates(
    lat: Any,
    lon: Any,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    file: str | None = None,
    lines: Sequence[int] | None = None,
    lat_field: str = "lat",
    lon_field: str = "lon",
    allow_missing: bool = False,
    allow_null_island: bool = False,
) -> list[Problem]:
    """Collect every problem with a set of coordinates.

    Flags missing values (unless ``allow_missing``), latitudes outside
    [-90, 90], longitudes outside [-180, 180], the (0, 0) "null island"
    placeholder, and, when ``bounds`` is given, points outside that box.

    Parameters
    ----------
    lat, lon
        Coordinates in degrees (scalars or array-likes of equal length).
    bounds
        Optional ``(min_lon, min_lat, max_lon, max_lat)`` box the points must
        lie in (e.g. the area covered by the loaded road network).
    file
        File name to put in each :class:`~core.errors.Problem`.
    lines
        Physical line number of each point in ``file``; when omitted, the
        0-based position is named in the message instead.
    lat_field, lon_field
        Column names to report.
    allow_missing
        Whether NaN pairs are acceptable (e.g. rows not geocoded yet).
    allow_null_island
        Whether (0, 0) is acceptable (it is a real H3 cell; as an address's
        position it is almost always a placeholder).

    Returns
    -------
    list of Problem
        Empty when every point is acceptable.
    """
    la = as_float_array(lat, name="lat")
    lo = as_float_array(lon, name="lon")
    if la.shape != lo.shape:
        raise ValueError(f"lat and lon differ in length ({la.size} != {lo.size})")
    if lines is not None and len(lines) != la.size:
        raise ValueError("lines must have one entry per coordinate")
    problems: list[Problem] = []

    def add(i: int, field: str, value: float, message: str) -> None:
        line = int(lines[i]) if lines is not None else None
        where = "" if lines is not None else f"index {i}: "
        problems.append(
            Problem(where + message, file=file, line=line, field=field, value=repr(value))
        )

    for i in range(la.size):
        y, x = float(la[i]), float(lo[i])
        if np.isnan(y) or np.isnan(x):
            if not allow_missing or np.isnan(y) != np.isnan(x):
                if np.isnan(y):
                    add(i, lat_field, y, "latitude is missing")
                if np.isnan(x):
                    add(i, lon_field, x, "longitude is missing")
            continue
        bad = False
        if not -90.0 <= y <= 90.0:
            add(i, lat_field, y, "latitude must be within [-90, 90]")
            bad = True
        if not -180.0 <= x <= 180.0:
            add(i, lon_field, x, "longitude must be within [-180, 180]")
            bad = True
        if bad:
            continue
        if y == 0.0 and x == 0.0 and not allow_null_island:
            add(i, lat_field, y, "coordinates (0, 0) are a placeholder, not a place")
            continue
        if bounds is not None:
            minx, miny, maxx, maxy = bounds
            if not (minx <= x <= maxx and miny <= y <= maxy):
                add(
                    i,
                    lat_field,
                    y,
                    f"point ({y:.6f}, {x:.6f}) lies outside the area "
                    f"[{miny:.4f}..{maxy:.4f}] x [{minx:.4f}..{maxx:.4f}]",
                )
    return problems


def unit_vectors(lat: Any, lon: Any) -> np.ndarray:
    """Points as 3-D unit vectors (one row each): the chord between two of them grows with
    their great-circle distance, so a k-d tree over them finds great-circle nearest neighbours.
    """
    la, lo = (
        np.radians(np.asarray(lat, dtype="float64")),
        np.radians(np.asarray(lon, dtype="float64")),
    )
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
