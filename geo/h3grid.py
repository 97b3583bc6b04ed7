"""H3 (v4) grid helpers: the only module in the project that calls ``h3``.

Cells are handled as 64-bit integers (``numpy.int64``) everywhere: they sort,
join and store compactly. :func:`h3_str` / :func:`h3_int` convert to and from
the hexadecimal strings shown to users and used by h3's own string API.

Coordinates are validated before they reach h3, which would otherwise accept a
latitude of 91 and silently wrap it. Geometry helpers return shapely objects in
EPSG:4326 with (lon, lat) axis order; cells crossing the antimeridian are not
split and so come out as wide polygons (no service area is there).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from h3.api import basic_int as h3i

from core.checks import finite_number, whole_number
from core.errors import GeoError, Problem
from geo.distance import as_float_array, haversine_km, validate_coordinates

__all__ = [
    "cell_polygon",
    "cell_to_latlng",
    "cells_in_box",
    "cells_to_geodataframe",
    "cells_to_geometry",
    "cells_within_km",
    "grid_disk",
    "h3_int",
    "h3_str",
    "latlng_to_cells",
    "ring_neighbours",
]

MAX_RES = 15


def _check_res(res: Any) -> int:
    problems: list[Problem] = []
    value = whole_number(res, field="res", problems=problems, ge=0, le=MAX_RES)
    if value is None:
        raise GeoError("invalid H3 resolution (0..15)", problems=problems)
    return value


def _as_cells(cells: Any) -> npt.NDArray[np.int64]:
    """Coerce cells (ints, hex strings or an array of either) to an int64 array."""
    if isinstance(cells, (str, int, np.integer)) and not isinstance(cells, bool):
        cells = [cells]
    if hasattr(cells, "to_numpy"):
        cells = cells.to_numpy()
    arr = np.asarray(list(cells) if not isinstance(cells, np.ndarray) else cells)
    if arr.size == 0:
        return np.empty(0, dtype="int64")
    if arr.dtype.kind in "US" or arr.dtype == object:
        return np.array(
            [h3_int(c) if isinstance(c, str) else _valid_int(c) for c in arr], dtype="int64"
        )
    if arr.dtype.kind not in "iu":  # floats would be truncated into other cells
        raise GeoError(
            "invalid H3 cells",
            problems=[
                Problem(
                    "H3 cells must be integers or hex strings", field="h3", value=str(arr.dtype)
                )
            ],
        )
    return arr.astype("int64", copy=False).ravel()


def _valid_int(cell: Any) -> int:
    # plain ints (from .tolist(), the hot loops) skip the slower shared check
    value = cell if type(cell) is int else whole_number(cell, field="h3", problems=[])
    if value is None or not h3i.is_valid_cell(value):
        raise GeoError(
            "invalid H3 cell",
            problems=[Problem("not a valid H3 cell", field="h3", value=str(cell))],
        )
    return value


def h3_str(cell: int) -> str:
    """Hexadecimal string form of an integer H3 cell (e.g. ``'882a1072b5fffff'``).

    Raises
    ------
    GeoError
        If ``cell`` is not a valid H3 cell.
    """
    return h3i.int_to_str(_valid_int(cell))


def h3_int(s: str) -> int:
    """Integer form of a hexadecimal H3 cell string.

    Raises
    ------
    GeoError
        If ``s`` is not a valid H3 cell.
    """
    try:
        value = int(s.strip(), 16)
    except ValueError:
        value = -1
    if value < 0 or value >= 2**63 or not h3i.is_valid_cell(value):
        raise GeoError(
            "invalid H3 cell", problems=[Problem("not a valid H3 cell string", field="h3", value=s)]
        )
    return value


def latlng_to_cells(lat: Any, lon: Any, res: int) -> npt.NDArray[np.int64]:
    """H3 cells containing points.

    Parameters
    ----------
    lat, lon
        Coordinates in degrees; scalars or array-likes of equal length.
    res
        H3 resolution, 0..15.

    Returns
    -------
    numpy.ndarray
        int64 cell per point (length 1 for scalars).

    Raises
    ------
    GeoError
        Listing every point with a missing or out-of-range coordinate, each
        problem naming the point's 0-based index.
    """
    res = _check_res(res)
    la = as_float_array(lat, name="lat")
    lo = as_float_array(lon, name="lon")
    if la.size != lo.size:
        raise ValueError(f"lat and lon differ in length ({la.size} != {lo.size})")
    # (0, 0) is a legitimate cell for the grid itself; only range/NaN errors matter here
    problems = validate_coordinates(la, lo, allow_null_island=True)
    if problems:
        raise GeoError(f"{len(problems)} invalid coordinate(s) for H3", problems=problems)
    return np.fromiter(
        (h3i.latlng_to_cell(y, x, res) for y, x in zip(la.tolist(), lo.tolist(), strict=True)),
        dtype="int64",
        count=la.size,
    )


def cells_in_box(
    *, west: float, south: float, east: float, north: float, res: int, max_cells: int
) -> npt.NDArray[np.int64] | None:
    """The H3 cells overlapping a longitude/latitude box, or None when there would be too many.

    Every point of the box lies in one of the cells (containment ``overlap``),
    so a point in the box has its cell among them.

    Parameters
    ----------
    west, south, east, north
        The box in degrees (west <= east, south <= north; not across the antimeridian).
    res
        H3 resolution, 0..15.
    max_cells
        Most cells wanted: a box whose area holds more (estimated from the
        cells' mean area) gives None at once, before h3 enumerates them.

    Returns
    -------
    numpy.ndarray or None
        Sorted int64 cells, or None for a box too large.
    """
    res = _check_res(res)
    problems = validate_coordinates(
        np.array([south, north]), np.array([west, east]), allow_null_island=True
    )
    if problems or west > east or south > north:
        raise GeoError("invalid box for H3", problems=problems)
    mid = math.radians((south + north) / 2)
    width_km = (east - west) * 111.32 * math.cos(mid)
    height_km = (north - south) * 110.57
    # h3 covers the box with its interior cells plus a ring of edge ones: count those too
    edge = math.sqrt(h3i.average_hexagon_area(res, "km^2"))
    area = (width_km + 2 * edge) * (height_km + 2 * edge)
    if area / h3i.average_hexagon_area(res, "km^2") > max_cells:
        return None
    ring = [(south, west), (south, east), (north, east), (north, west)]
    cells = h3i.h3shape_to_cells_experimental(h3.LatLngPoly(ring), res, contain="overlap")
    return np.sort(np.fromiter(cells, dtype="int64", count=len(cells)))


def cell_to_latlng(cells: Any) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Centres of H3 cells.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lat, lon)`` arrays in degrees, one entry per cell.
    """
    arr = _as_cells(cells)
    lat = np.empty(arr.size)
    lon = np.empty(arr.size)
    for i, c in enumerate(arr.tolist()):
        lat[i], lon[i] = h3i.cell_to_latlng(_valid_int(c))
    return lat, lon


def grid_disk(cell: int, k: int) -> npt.NDArray[np.int64]:
    """All cells within ``k`` grid steps of ``cell`` (including it), sorted."""
    problems: list[Problem] = []
    steps = whole_number(k, field="k", problems=problems, ge=0)
    if steps is None:
        raise GeoError("grid_disk needs k >= 0", problems=problems)
    return np.sort(np.fromiter(h3i.grid_disk(_valid_int(cell), steps), dtype="int64"))


def cells_within_km(lat: float, lon: float, *, km: float, res: int) -> pd.DataFrame:
    """Cells whose centre lies within ``km`` (great circle) of a point.

    The disk grows ring by ring until a whole ring lies farther than ``km``,
    so the answer is exact for any cell size (cell sizes vary about 2x over the
    globe, which a fixed ``k`` from an average edge length would miss).

    Parameters
    ----------
    lat, lon
        Centre in degrees.
    km
        Radius in kilometres (> 0).
    res
        H3 resolution.

    Returns
    -------
    pandas.DataFrame
        Columns ``h3`` (int64) and ``distance_km`` (centre-to-centre distance
        from the point), sorted by distance. The cell containing the point is
        always included, even when its centre is farther than ``km``.
    """
    problems: list[Problem] = []
    if finite_number(km, field="km", problems=problems, gt=0) is None:
        raise GeoError("radius must be positive", problems=problems)
    origin = int(latlng_to_cells(lat, lon, res)[0])
    # initial guess of k from the origin cell's own size (hexagon edge from area)
    area = h3i.cell_area(origin, unit="km^2")
    edge = math.sqrt(2.0 * area / (3.0 * math.sqrt(3.0)))
    k = max(1, math.ceil(km / (math.sqrt(3.0) * edge)) + 1)
    while True:
        cells = np.fromiter(h3i.grid_disk(origin, k), dtype="int64")
        clat, clon = cell_to_latlng(cells)
        dist = haversine_km(lat, lon, clat, clon)
        ring = _ring(origin, k)
        if ring is not None:
            outer = np.isin(cells, ring)
            if dist[outer].min() > km:
                break
        elif dist.max() > 2 * km:  # pentagon distortion: fall back to a generous margin
            break
        k += 1
    keep = (dist <= km) | (cells == origin)
    out = pd.DataFrame({"h3": cells[keep].astype("int64"), "distance_km": dist[keep]})
    return out.sort_values(["distance_km", "h3"], ignore_index=True)


def _ring(origin: int, k: int) -> npt.NDArray[np.int64] | None:
    """The hollow ring at distance k, or None where h3 cannot build it (pentagons)."""
    try:
        return np.fromiter(h3i.grid_ring(origin, k), dtype="int64")
    except Exception:
        return None


def ring_neighbours(cells: Any) -> npt.NDArray[np.int64]:
    """The neighbours of each cell, in order around it.

    Returns
    -------
    numpy.ndarray
        ``(n, 6)`` int64: row ``i`` lists the cells adjacent to ``cells[i]``
        such that consecutive entries (and the last and first) are adjacent
        to each other. A pentagon's sixth entry is 0 (no cell).
    """
    arr = _as_cells(cells)
    out = np.zeros((arr.size, 6), dtype="int64")
    for i, c in enumerate(arr.tolist()):
        ring = _ring(_valid_int(c), 1)
        if ring is None:  # pentagon: order its five neighbours by bearing
            ring = np.array([x for x in h3i.grid_disk(c, 1) if x != c], dtype="int64")
            lat, lon = cell_to_latlng(ring)
            y0, x0 = h3i.cell_to_latlng(c)
            ring = ring[np.argsort(np.arctan2(lat - y0, lon - x0))]
        out[i, : ring.size] = ring
    return out


def cell_polygon(cell: Any) -> shapely.Polygon:
    """Hexagon (or pentagon) of one cell as a shapely Polygon in (lon, lat)."""
    value = _as_cells(cell)
    if value.size != 1:
        raise GeoError(
            "cell_polygon takes a single cell",
            problems=[Problem("one cell expected", field="h3", value=str(value.size))],
        )
    boundary = h3i.cell_to_boundary(_valid_int(int(value[0])))
    return shapely.Polygon([(x, y) for y, x in boundary])


def cells_to_geometry(cells: Any) -> shapely.Polygon | shapely.MultiPolygon:
    """Outline of a set of cells (their union, holes kept) via ``h3.cells_to_h3shape``.

    Duplicates are ignored; cells must share one resolution. An empty input
    gives an empty Polygon.
    """
    arr = np.unique(_as_cells(cells))
    if arr.size == 0:
        return shapely.Polygon()
    for c in arr.tolist():
        _valid_int(c)
    try:
        shape = h3i.cells_to_h3shape([int(c) for c in arr], tight=True)
    except Exception as exc:
        raise GeoError(f"cannot outline cells: {exc}") from None
    return shapely.geometry.shape(shape.__geo_interface__)


def cells_to_geodataframe(cells: Any, **columns: Iterable[Any]) -> gpd.GeoDataFrame:
    """One hexagon polygon per cell, in EPSG:4326.

    Parameters
    ----------
    cells
        Cells (ints or hex strings).
    **columns
        Extra columns, each with one value per cell.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``h3`` (int64), the extra columns, and ``geometry``.
    """
    arr = _as_cells(cells)
    data: dict[str, Any] = {"h3": arr}
    for name, values in columns.items():
        col = list(values) if not hasattr(values, "__len__") else values
        if len(col) != arr.size:
            raise ValueError(f"column {name!r} has {len(col)} values for {arr.size} cells")
        data[name] = np.asarray(col) if not hasattr(col, "to_numpy") else col.to_numpy()
    geoms = [cell_polygon(int(c)) for c in arr.tolist()]
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")
