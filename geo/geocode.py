"""Offline geocoding: street level from the loaded OSM extract, else ZIP centroid.

Street names are compared after :func:`core.text.normalize_street` (USPS Publication 28
style: upper case, ASCII, no punctuation, standard suffix and directional
abbreviations), so "1234 N. High St" and the OSM way "North High Street" both
give ``"N HIGH ST"``.

House-number convention
-----------------------
OSM extracts rarely carry address ranges, so :class:`StreetIndex` numbers
every street itself by linear referencing. Each normalised street name maps
to the connected pieces of that street (``shapely.ops.linemerge`` of its
undirected edges) in a local UTM CRS. Every piece runs from its western end to
its eastern end (southern to northern when both ends share a longitude). For
a point at distance ``d`` metres from the piece's start::

    number = 100 + 2 * floor(d / 10) + side     # side 0 = right (even), 1 = left (odd)

and :meth:`StreetIndex.locate` inverts it with
``d = ((number - 100) // 2) * 10 + 5``, clamped to the piece's length.

When a name has several pieces (a street interrupted by a park, divided
carriageways, the same name in two neighbourhoods), ``locate`` takes the
piece nearest ``near`` -- geocoding passes the ZIP centroid of the address.
:meth:`StreetIndex.address_for` takes the same ``near`` and numbers the point
along that same piece, so a generator that writes the address with a ZIP
must pass that ZIP's centroid as ``near``; ``locate(address_for(p, near=c),
near=c)`` then lands within 10 m of ``p`` whenever ``p`` lies on the piece
nearest ``c`` (always the case with ``near=None``, which picks the piece
nearest ``p`` itself). Generators should keep only such points.

Not handled yet: OSM ``addr:*`` house numbers, intersections ("High St &
Broad St"), PO boxes (left to the ZIP centroid), and non-Latin street names
(characters without an ASCII decomposition are dropped).
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
import zipcodes
from pyproj import CRS, Transformer
from shapely.ops import linemerge

from core.errors import GeoError
from core.text import normalize_street, split_address
from geo.distance import haversine_km

__all__ = [
    "StreetIndex",
    "geocode_frame",
    "zip_centroid",
]


@functools.lru_cache(maxsize=65_536)
def zip_centroid(zip5: str) -> tuple[float, float] | None:
    """``(lat, lon)`` of a US ZIP code from the bundled ``zipcodes`` database.

    Accepts "43215", ZIP+4 ("43215-1234", "432151234") and numeric strings
    that lost a leading zero ("2134" -> "02134", 8 digits -> ZIP+4). Returns
    None for unknown or malformed codes.
    """
    digits = re.sub(r"\D", "", zip5)
    if len(digits) in (3, 4):
        digits = digits.zfill(5)
    elif len(digits) == 8:
        digits = digits.zfill(9)
    if len(digits) not in (5, 9):
        return None
    try:
        found = zipcodes.matching(digits[:5])
    except (ValueError, TypeError):
        return None
    for rec in found:
        try:
            lat, lon = float(rec["lat"]), float(rec["long"])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(lat) and math.isfinite(lon) and (lat, lon) != (0.0, 0.0):
            return lat, lon
    return None


class StreetIndex:
    """Named street pieces of a road graph, for offline street-level geocoding.

    Build with :meth:`from_graph`. See the module docstring for the
    house-number convention shared with the demo data generator.
    """

    def __init__(
        self, pieces: dict[str, list[shapely.LineString]], display: dict[str, str], crs: CRS
    ) -> None:
        self._pieces = {k: tuple(v) for k, v in pieces.items()}
        self._display = dict(display)
        self.crs = crs
        self._to_metric = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        self._to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        self._tree_lines = [ln for key in sorted(self._pieces) for ln in self._pieces[key]]
        self._tree_keys = [key for key in sorted(self._pieces) for _ in self._pieces[key]]
        self._tree = shapely.STRtree(self._tree_lines)

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph) -> StreetIndex:
        """Index every named edge of an unprojected osmnx graph."""
        if G.number_of_edges() == 0:
            raise GeoError("cannot build a street index from an empty road network")
        edges = ox.graph_to_gdfs(G, nodes=False, fill_edge_geometry=True).reset_index()
        if "name" not in edges:
            edges["name"] = None
        crs = edges.estimate_utm_crs()
        edges = edges.to_crs(crs)
        a = np.minimum(edges["u"].to_numpy(), edges["v"].to_numpy())
        b = np.maximum(edges["u"].to_numpy(), edges["v"].to_numpy())
        edges = edges.assign(_a=a, _b=b, _len=edges.geometry.length.round(1))
        edges = edges.drop_duplicates(["_a", "_b", "_len"])
        geoms: dict[str, list[shapely.LineString]] = defaultdict(list)
        names: dict[str, Counter[str]] = defaultdict(Counter)
        keys: dict[str, str] = {}
        for raw, geom in zip(edges["name"].tolist(), edges.geometry.tolist(), strict=True):
            for name in _names(raw):
                key = keys.get(name)
                if key is None:
                    key = keys[name] = normalize_street(name)
                if key:
                    geoms[key].append(geom)
                    names[key][name] += 1
        pieces = {key: _merge(lines) for key, lines in geoms.items()}
        display = {
            key: min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for key, c in names.items()
        }
        return cls(pieces, display, CRS.from_user_input(crs))

    def streets(self) -> list[str]:
        """Display names (the most common OSM spelling) of the indexed streets, sorted."""
        return sorted(self._display.values())

    def __contains__(self, street: object) -> bool:
        return isinstance(street, str) and normalize_street(street) in self._pieces

    def __len__(self) -> int:
        return len(self._pieces)

    def _metric(self, lat: float, lon: float) -> shapely.Point:
        x, y = self._to_metric.transform(lon, lat)
        return shapely.Point(x, y)

    def _pick(self, key: str, near: tuple[float, float] | None) -> shapely.LineString:
        pieces = self._pieces[key]
        if len(pieces) == 1:
            return pieces[0]
        if near is None:
            return max(pieces, key=lambda ln: (ln.length, ln.coords[0]))
        p = self._metric(*near)
        dist = shapely.distance(np.asarray(pieces, dtype=object), p)
        return pieces[int(np.argmin(dist))]

    def locate(
        self, street: str, number: int | None, *, near: tuple[float, float] | None = None
    ) -> tuple[float, float] | None:
        """``(lat, lon)`` of a house number on a street, or None for an unknown street.

        Parameters
        ----------
        street
            Street name in any spelling :func:`normalize_street` understands.
        number
            House number; None gives the piece's midpoint.
        near
            ``(lat, lon)`` hint (the ZIP centroid) choosing among the street's
            pieces; without it the longest piece is used.
        """
        key = normalize_street(street)
        if key not in self._pieces:
            return None
        line = self._pick(key, near)
        if number is None:
            d = line.length / 2.0
        else:
            d = min(max(((int(number) - 100) // 2) * 10 + 5, 0.0), line.length)
        pt = line.interpolate(d)
        lon, lat = self._to_wgs.transform(pt.x, pt.y)
        return float(lat), float(lon)

    def address_for(
        self,
        lat: float,
        lon: float,
        *,
        street: str | None = None,
        near: tuple[float, float] | None = None,
    ) -> tuple[int, str]:
        """House number and OSM street name of a point, consistent with :meth:`locate`.

        Parameters
        ----------
        lat, lon
            The point, on or near a street.
        street
            Street to number along; defaults to the nearest named street.
        near
            The hint that will be passed to :meth:`locate` (the ZIP centroid
            written with the address); None numbers along the piece nearest
            the point, which ``locate(..., near=(lat, lon))`` also picks.

        Raises
        ------
        GeoError
            If ``street`` is not indexed.
        """
        p = self._metric(lat, lon)
        if street is None:
            idx = self._tree.nearest(p)
            key = self._tree_keys[int(idx)]
        else:
            key = normalize_street(street)
            if key not in self._pieces:
                raise GeoError(f"street {street!r} is not in the road network")
        if near is None:
            pieces = self._pieces[key]
            line = pieces[int(np.argmin(shapely.distance(np.asarray(pieces, dtype=object), p)))]
        else:
            line = self._pick(key, near)
        d = line.project(p)
        on = line.interpolate(d)
        after = line.interpolate(min(d + 1.0, line.length))
        before = line.interpolate(max(d - 1.0, 0.0))
        cross = (after.x - before.x) * (p.y - on.y) - (after.y - before.y) * (p.x - on.x)
        side = 1 if cross > 0 else 0
        return 100 + 2 * math.floor(d / 10.0) + side, self._display[key]


def _names(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(r) for r in raw if isinstance(r, str) and r.strip()]
    return [raw] if isinstance(raw, str) and raw.strip() else []


def _merge(lines: Iterable[shapely.LineString]) -> list[shapely.LineString]:
    merged = linemerge(list(lines))
    parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    out = []
    for ln in parts:
        if ln.is_empty or ln.length == 0:
            continue
        (x0, y0), (x1, y1) = ln.coords[0], ln.coords[-1]
        if (x1, y1) < (x0, y0):
            ln = shapely.reverse(ln)
        out.append(ln)
    out.sort(key=lambda ln: (ln.coords[0], -ln.length))
    return out


def geocode_frame(
    df: pd.DataFrame,
    index: StreetIndex | None,
    *,
    address_col: str = "address_1",
    zip_col: str = "postal_code",
    max_street_km: float = 10.0,
) -> pd.DataFrame:
    """Geocode address rows offline.

    Street level when the street is in ``index`` and the chosen piece lies
    within ``max_street_km`` of the ZIP centroid (a farther match is a
    namesake elsewhere in the extract); else the ZIP centroid; else nothing.
    A known street with an unknown ZIP is not trusted (``"none"``).

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with ``lat``, ``lon`` (float, NaN when not found),
        ``geocode_precision`` ("street", "zip" or "none") and ``geocode_note``.
    """
    missing = [c for c in (address_col, zip_col) if c not in df.columns]
    if missing:
        raise KeyError(f"missing column(s): {', '.join(missing)}")
    out = df.copy()
    addr = out[address_col].astype("string").fillna("").str.strip()
    zips = out[zip_col].astype("string").fillna("").str.strip()
    keys = pd.DataFrame({"a": addr.to_numpy(dtype=object), "z": zips.to_numpy(dtype=object)})
    uniq = keys.drop_duplicates().reset_index(drop=True)
    results = [
        _geocode_one(a, z, index, max_street_km) for a, z in zip(uniq["a"], uniq["z"], strict=True)
    ]
    res = pd.DataFrame(results, columns=["lat", "lon", "geocode_precision", "geocode_note"])
    merged = keys.merge(pd.concat([uniq, res], axis=1), on=["a", "z"], how="left")
    for col in res.columns:
        out[col] = merged[col].to_numpy()
    out["lat"] = out["lat"].astype("float64")
    out["lon"] = out["lon"].astype("float64")
    return out


def _geocode_one(address: str, zip_code: str, index: StreetIndex | None, max_km: float) -> tuple:
    centroid = zip_centroid(zip_code) if zip_code else None
    number, street = split_address(address) if address else (None, "")
    key = normalize_street(street) if street else ""
    if index is not None and key and key in index:
        if centroid is None:
            return (np.nan, np.nan, "none", f"street {key!r} found but ZIP {zip_code!r} unknown")
        lat, lon = index.locate(key, number, near=centroid)
        off = float(haversine_km(lat, lon, centroid[0], centroid[1])[0])
        if off <= max_km:
            return (
                lat,
                lon,
                "street",
                f"{key} #{number}" if number is not None else f"{key} (no number)",
            )
        return (
            centroid[0],
            centroid[1],
            "zip",
            f"street {key!r} only found {off:.1f} km from ZIP {zip_code}",
        )
    if centroid is not None:
        why = (
            "no street index"
            if index is None
            else (f"street {key!r} not in road network" if key else "no street")
        )
        return (centroid[0], centroid[1], "zip", why)
    return (np.nan, np.nan, "none", f"unknown ZIP {zip_code!r}" if zip_code else "no ZIP")
