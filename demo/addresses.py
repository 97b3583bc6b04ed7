"""Real street addresses of central Columbus, written the way people write them.

Points are drawn on named street segments of the bundled OSM extract
(weighted by length, residential to primary roads), each is given the nearest
Columbus ZIP centroid, and the road network's :class:`geo.geocode.StreetIndex`
turns the point into a house number on that street such that geocoding the
address (``locate(street, number, near=zip_centroid)``) lands back on the point.
Street names are then written as people do: USPS abbreviations
(``N HIGH ST``) mixed with full forms (``NORTH HIGH STREET``).

A small share of addresses use streets that are *not* in the extract, so only
their ZIP can be located: that exercises a geocoder's ZIP fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import shapely
import zipcodes

from core.errors import GeoError
from core.text import normalize_street
from geo.roads import road_lines

__all__ = [
    "COLUMBUS_BBOX",
    "PREFERRED_HIGHWAYS",
    "ZipArea",
    "abbreviate_street",
    "columbus_zips",
    "fictional_street_names",
    "nearest_zip",
    "phone_numbers",
    "place_buildings",
    "po_box_zips",
    "sample_street_points",
    "street_segments",
    "zip_plus4",
]

COLUMBUS_BBOX: tuple[float, float, float, float] = (-83.179, 39.877, -82.788, 40.105)
"""(west, south, east, north) of the bundled central-Columbus OSM extract."""

PREFERRED_HIGHWAYS: dict[str, float] = {
    "residential": 1.0,
    "tertiary": 1.6,
    "secondary": 2.0,
    "primary": 2.0,
    "unclassified": 0.5,
}
"""Road classes addresses are drawn on, with a weight multiplying segment length
(medical offices sit on busier roads more often than houses do)."""

_NEIGHBOURHOOD_CITIES = {
    "43209": ("BEXLEY",),
    "43212": ("GRANDVIEW HEIGHTS", "UPPER ARLINGTON"),
    "43213": ("WHITEHALL",),
    "43085": ("WORTHINGTON",),
    "43220": ("UPPER ARLINGTON",),
    "43221": ("UPPER ARLINGTON",),
    "43230": ("GAHANNA",),
}
_FICTIONAL_BASES = (
    "QUAIL HOLLOW",
    "BIRCH BARK",
    "FOXGLOVE",
    "AMBER MEADOW",
    "WILLOW CREEK",
    "STONEBRIDGE",
    "HERON POINTE",
    "CEDAR KNOLL",
    "BLUE SPRUCE",
    "LARKSPUR",
    "MEADOWLARK RIDGE",
    "OTTER CREEK",
    "SILVER MAPLE",
    "WINDING BROOK",
    "PHEASANT RUN",
    "COPPER BEECH",
    "JUNIPER HILL",
    "SUMMIT VIEW",
)
_FICTIONAL_TYPES = ("DRIVE", "LANE", "COURT", "WAY", "PLACE", "CIRCLE", "TRAIL")


@dataclass(frozen=True, slots=True)
class ZipArea:
    """A ZIP code with its centroid (from the ``zipcodes`` package)."""

    zip5: str
    city: str
    lat: float
    lon: float


@lru_cache(maxsize=4)
def columbus_zips(bbox: tuple[float, float, float, float] = COLUMBUS_BBOX) -> tuple[ZipArea, ...]:
    """Standard (street-delivery) ZIPs of the city of Columbus whose centroid is in ``bbox``.

    Bexley, Grandview Heights, Upper Arlington, Whitehall and Worthington are
    served by ZIPs whose USPS city is Columbus; they are written as acceptable
    city names on some rows (see :func:`place_buildings`).
    """
    west, south, east, north = bbox
    out = [
        ZipArea(r["zip_code"], r["city"].upper(), float(r["lat"]), float(r["long"]))
        for r in zipcodes.filter_by(state="OH", city="Columbus")
        if r["zip_code_type"] == "STANDARD"
        and r["active"]
        and west <= float(r["long"]) <= east
        and south <= float(r["lat"]) <= north
    ]
    if not out:
        raise GeoError(f"no Columbus ZIP centroid inside {bbox}")
    return tuple(sorted(out, key=lambda z: z.zip5))


@lru_cache(maxsize=1)
def po_box_zips() -> tuple[str, ...]:
    """Columbus PO-box-only ZIPs (``43216``, ``43218`` ...), for mailing addresses."""
    return tuple(
        sorted(
            r["zip_code"]
            for r in zipcodes.filter_by(state="OH", city="Columbus")
            if r["zip_code_type"] == "PO BOX"
        )
    )


def street_segments(G: Any) -> pd.DataFrame:
    """Named road segments addresses can be placed on.

    Parameters
    ----------
    G
        Drive graph from :func:`geo.roads.load_drive_graph`.

    Returns
    -------
    pandas.DataFrame
        Columns ``name`` (OSM name), ``highway``, ``length_m``, ``weight`` and
        ``geometry`` (shapely LineString, lon/lat), one row per undirected segment,
        sorted so the order does not depend on graph iteration order.
    """
    lines = road_lines(G, highway_classes=frozenset(PREFERRED_HIGHWAYS))
    lines = lines[(lines["name"] != "") & ~lines["name"].str.contains(";", regex=False)]
    if lines.empty:
        raise GeoError("the road network has no named streets to place addresses on")
    geoms = lines.geometry.to_numpy()
    lat0 = float(np.mean(lines.total_bounds[[1, 3]]))
    # planar length in metres, good enough to weight segments
    scaled = shapely.transform(
        geoms, lambda xy: xy * [111_320.0 * np.cos(np.radians(lat0)), 110_540.0]
    )
    length = shapely.length(scaled)
    df = pd.DataFrame(
        {
            "name": lines["name"].str.upper().to_numpy(),
            "osm_name": lines["name"].to_numpy(),
            "highway": lines["highway"].to_numpy(),
            "length_m": length,
            "u": lines["u"].to_numpy(),
            "v": lines["v"].to_numpy(),
            "geometry": geoms,
        }
    )
    df = df[df["length_m"] >= 40.0]
    df["weight"] = df["length_m"] * df["highway"].map(PREFERRED_HIGHWAYS).astype(float)
    return df.sort_values(["u", "v", "osm_name"], kind="stable").reset_index(drop=True)


def sample_street_points(
    segments: pd.DataFrame,
    rng: np.random.Generator,
    n: int,
    *,
    within: shapely.Polygon | None = None,
) -> pd.DataFrame:
    """Draw ``n`` points on street segments, weighted by segment weight.

    Points sit between 20% and 80% of the way along a segment, away from
    intersections, so the street they are on is unambiguous.

    Parameters
    ----------
    segments
        From :func:`street_segments`.
    rng
        Seeded generator.
    n
        Number of points.
    within
        Optional lon/lat polygon the segments' midpoints must fall in.

    Returns
    -------
    pandas.DataFrame
        Columns ``lat``, ``lon``, ``osm_name``, ``highway``.
    """
    seg = segments
    if within is not None:
        mids = shapely.line_interpolate_point(seg["geometry"].to_numpy(), 0.5, normalized=True)
        seg = seg[shapely.contains_xy(within, shapely.get_x(mids), shapely.get_y(mids))]
        if seg.empty:
            raise GeoError("no named street segment inside the requested area")
    p = seg["weight"].to_numpy(dtype=float)
    idx = rng.choice(len(seg), size=n, p=p / p.sum())
    frac = rng.uniform(0.2, 0.8, size=n)
    pts = shapely.line_interpolate_point(seg["geometry"].to_numpy()[idx], frac, normalized=True)
    return pd.DataFrame(
        {
            "lat": shapely.get_y(pts),
            "lon": shapely.get_x(pts),
            "osm_name": seg["osm_name"].to_numpy()[idx],
            "highway": seg["highway"].to_numpy()[idx],
        }
    )


def nearest_zip(lat: np.ndarray, lon: np.ndarray, zips: tuple[ZipArea, ...]) -> np.ndarray:
    """Index into ``zips`` of the nearest centroid to each point (equirectangular metric)."""
    zlat = np.array([z.lat for z in zips])
    zlon = np.array([z.lon for z in zips])
    k = np.cos(np.radians(np.mean(zlat)))
    d2 = (np.asarray(lat)[:, None] - zlat[None, :]) ** 2 + (
        (np.asarray(lon)[:, None] - zlon[None, :]) * k
    ) ** 2
    return np.argmin(d2, axis=1)


def abbreviate_street(street: str, *, style: str = "abbr") -> str:
    """Write an upper-case street name the way a person might.

    Parameters
    ----------
    street
        Street name without house number, e.g. ``"NORTH HIGH STREET"``.
    style
        ``"abbr"``: USPS Publication 28 abbreviations, as
        :func:`core.text.normalize_street` produces them (``"N HIGH ST"``);
        ``"suffix"``: only the street type abbreviated (``"NORTH HIGH ST"``);
        ``"full"``: as given, upper-cased.

    Returns
    -------
    str
        Every style normalises to the same :func:`normalize_street` key.
    """
    if style not in {"abbr", "suffix", "full"}:
        raise ValueError(f"style must be 'abbr', 'suffix' or 'full', got {style!r}")
    full = " ".join(street.upper().split())
    if style == "full":
        return full
    abbr = normalize_street(full)
    if style == "abbr":
        return abbr
    words, short = full.split(), abbr.split()
    if len(words) == len(short) and len(words) >= 2:
        return " ".join(words[:-1] + short[-1:])
    return full


def zip_plus4(zip5: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Nine-digit ZIP+4 strings (no dash, as NPPES writes them)."""
    add = rng.integers(1000, 9999, size=len(zip5))
    return np.array([f"{z}{a:04d}" for z, a in zip(zip5.tolist(), add.tolist())], dtype=object)


def phone_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Ten-digit Columbus phone numbers (area codes 614, and 380 for a fifth)."""
    area = np.where(rng.random(n) < 0.8, 614, 380)
    exchange = rng.integers(200, 999, size=n)
    exchange = np.where(exchange == 555, 556, exchange)
    line = rng.integers(0, 10_000, size=n)
    return np.array(
        [f"{a}{e}{s:04d}" for a, e, s in zip(area.tolist(), exchange.tolist(), line.tolist())],
        dtype=object,
    )


def fictional_street_names(known: set[str]) -> tuple[str, ...]:
    """Plausible street names absent from ``known`` (upper-case names of the extract)."""
    known_keys = {normalize_street(k) for k in known}
    out = []
    for base in _FICTIONAL_BASES:
        for kind in _FICTIONAL_TYPES:
            name = f"{base} {kind}"
            if normalize_street(name) not in known_keys:
                out.append(name)
    return tuple(out)


def _numbered(
    index: Any, lat: float, lon: float, street: str, near: tuple[float, float], tolerance_m: float
) -> tuple[str, str, float, float] | None:
    """House number for a point, kept only if geocoding it back lands within tolerance."""
    try:
        number, name = index.address_for(lat, lon, street=street, near=near)
        back = index.locate(name, number, near=near)
    except GeoError:
        return None
    if back is None:
        return None
    dy = (back[0] - lat) * 110_540.0
    dx = (back[1] - lon) * 111_320.0 * np.cos(np.radians(lat))
    if dx * dx + dy * dy > tolerance_m * tolerance_m:
        return None  # the point is on another piece of the street than the ZIP picks
    return str(number), str(name).upper(), float(back[0]), float(back[1])


def place_buildings(
    segments: pd.DataFrame,
    index: Any,
    rng: np.random.Generator,
    n: int,
    *,
    zip_only_share: float = 0.02,
    within: shapely.Polygon | None = None,
    tolerance_m: float = 12.0,
) -> pd.DataFrame:
    """Street addresses for ``n`` buildings, with the point each geocodes to.

    Parameters
    ----------
    segments
        From :func:`street_segments`.
    index
        A :class:`geo.geocode.StreetIndex` (anything with ``address_for``).
    rng
        Seeded generator.
    n
        Number of buildings.
    zip_only_share
        Share of buildings on a street absent from the extract (only their ZIP
        can be located; their ``lat``/``lon`` is the ZIP centroid).
    within
        Optional lon/lat polygon to restrict street points to.
    tolerance_m
        Points whose address geocodes back farther than this are redrawn
        (a street in several pieces, where the ZIP centroid picks another piece).

    Returns
    -------
    pandas.DataFrame
        ``lat``/``lon`` are where the address geocodes to (within
        ``tolerance_m`` of the drawn street point).
        Columns ``number``, ``street`` (upper-case full name), ``zip5``, ``city``,
        ``zip_lat``, ``zip_lon``, ``lat``, ``lon``, ``zip_only`` (bool).
    """
    zips = columbus_zips()
    n_fake = max(1, round(n * zip_only_share)) if zip_only_share > 0 and n > 1 else 0
    rows: list[dict[str, Any]] = []
    attempts = 0
    while len(rows) < n - n_fake:
        need = n - n_fake - len(rows)
        attempts += 1
        if attempts > 40:
            raise GeoError("the street index could not number enough street points")
        pts = sample_street_points(segments, rng, need + need // 10 + 2, within=within)
        zi = nearest_zip(pts["lat"].to_numpy(), pts["lon"].to_numpy(), zips)
        for lat, lon, name, z in zip(
            pts["lat"].tolist(), pts["lon"].tolist(), pts["osm_name"].tolist(), zi.tolist()
        ):
            area = zips[z]
            got = _numbered(index, lat, lon, name, (area.lat, area.lon), tolerance_m)
            if got is None:
                continue
            rows.append(
                {
                    "number": got[0],
                    "street": got[1],
                    "zip5": area.zip5,
                    "city": area.city,
                    "zip_lat": area.lat,
                    "zip_lon": area.lon,
                    "lat": got[2],
                    "lon": got[3],
                    "zip_only": False,
                }
            )
            if len(rows) == n - n_fake:
                break
    if n_fake:
        names = fictional_street_names(set(segments["name"].tolist()))
        pick = rng.integers(0, len(names), size=n_fake)
        zpick = rng.integers(0, len(zips), size=n_fake)
        nums = rng.integers(100, 9000, size=n_fake)
        for p, z, num in zip(pick.tolist(), zpick.tolist(), nums.tolist()):
            area = zips[z]
            rows.append(
                {
                    "number": str(num),
                    "street": names[p],
                    "zip5": area.zip5,
                    "city": area.city,
                    "zip_lat": area.lat,
                    "zip_lon": area.lon,
                    "lat": area.lat,
                    "lon": area.lon,
                    "zip_only": True,
                }
            )
    df = pd.DataFrame(rows)
    order = rng.permutation(len(df))
    df = df.iloc[order].reset_index(drop=True)
    alt = rng.random(len(df))
    df["city_written"] = [
        _NEIGHBOURHOOD_CITIES[z][int(a * 10) % len(_NEIGHBOURHOOD_CITIES[z])]
        if z in _NEIGHBOURHOOD_CITIES and a < 0.3
        else c
        for z, c, a in zip(df["zip5"].tolist(), df["city"].tolist(), alt.tolist())
    ]
    return df
