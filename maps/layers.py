"""Pure functions turning the map's input GeoDataFrames into compact GeoJSON.

Each builder validates its frame (collecting every problem before raising one
:class:`~core.errors.InputError`), rounds coordinates to 6 decimals (about
0.1 m) and keeps feature properties small: a display colour in
``properties["style"]`` (read by Leaflet's ``setStyle``), a short tooltip
string and, for sites and prospects, a pre-rendered and HTML-escaped popup.
Nothing here touches folium; :mod:`maps.territory` wires the results into layers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from core.checks import finite_number
from core.errors import InputError, Problem

__all__ = [
    "ROAD_STYLES",
    "breakdown_html",
    "catchment_label",
    "hex_collections",
    "prospect_collection",
    "road_class",
    "road_collection",
    "site_collection",
    "validate_frame",
]

COORD_DECIMALS = 6

SITE_COLUMNS = ("site_code", "name", "service_line")
HEX_COLUMNS = ("h3", "site_code", "method", "parameter", "white_space", "truncated")
PROSPECT_COLUMNS = (
    "provider_id",
    "name",
    "specialty",
    "score",
    "segment",
    "drive_minutes",
    "site_code",
    "components",
)
ROAD_COLUMNS = ("highway",)
METHODS = ("drive_time", "radius")

# (stroke weight in px, stroke colour) by OSM highway class; anything else -> "other".
ROAD_STYLES: dict[str, tuple[float, str]] = {
    "motorway": (3.5, "#6b6b6b"),
    "trunk": (3.0, "#737373"),
    "primary": (2.6, "#7d7d7d"),
    "secondary": (2.2, "#888888"),
    "tertiary": (1.8, "#949494"),
    "residential": (1.1, "#a6a6a6"),
    "unclassified": (1.1, "#a6a6a6"),
    "living_street": (0.9, "#b3b3b3"),
    "service": (0.7, "#bdbdbd"),
    "other": (0.9, "#b3b3b3"),
}


# --------------------------------------------------------------------------- validation


def validate_frame(
    frame: Any,
    *,
    layer: str,
    columns: Sequence[str],
    geom_types: Iterable[str],
) -> gpd.GeoDataFrame:
    """Check one input frame and return it in EPSG:4326.

    Parameters
    ----------
    frame
        The layer's GeoDataFrame.
    layer
        Layer name used in error messages (``"sites"``, ``"hexes"`` ...).
    columns
        Columns that must be present besides the geometry.
    geom_types
        Accepted shapely geometry type names.

    Returns
    -------
    geopandas.GeoDataFrame
        ``frame`` itself, or a reprojected copy when its CRS is not EPSG:4326.
        A frame without CRS is taken to be EPSG:4326.

    Raises
    ------
    InputError
        Listing every missing column, null/empty geometry, wrong geometry type
        and out-of-range coordinate.
    """
    problems = [
        Problem("required column missing", file=layer, field=col)
        for col in columns
        if col not in frame.columns
    ]
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    allowed = set(geom_types)
    for label, geom in zip(frame.index, frame.geometry.array):
        if geom is None or geom.is_empty:
            problems.append(
                Problem(f"row {label}: geometry is missing or empty", file=layer, field="geometry")
            )
        elif geom.geom_type not in allowed:
            problems.append(
                Problem(
                    f"row {label}: geometry must be {' or '.join(sorted(allowed))}",
                    file=layer,
                    field="geometry",
                    value=geom.geom_type,
                )
            )
    if len(frame) and not problems:
        minx, miny, maxx, maxy = frame.total_bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            problems.append(
                Problem(
                    "coordinates outside longitude/latitude range; expected EPSG:4326",
                    file=layer,
                    field="geometry",
                    value=f"bounds {minx:.1f},{miny:.1f},{maxx:.1f},{maxy:.1f}",
                )
            )
    if problems:
        raise InputError(f"invalid {layer} layer for the territory map", problems=problems)
    return frame


def _bad_rows(
    frame: pd.DataFrame,
    column: str,
    ok: Callable[[Any], bool],
    message: str,
    layer: str,
) -> list[Problem]:
    return [
        Problem(f"row {label}: {message}", file=layer, field=column, value=repr(value)[:80])
        for label, value in frame[column].items()
        if not ok(value)
    ]


def _is_number(value: Any) -> bool:
    return finite_number(value, field="value", problems=[]) is not None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


# --------------------------------------------------------------------------- helpers


def _rounded(geoms: gpd.GeoSeries) -> list[dict]:
    """GeoJSON geometry dicts with coordinates rounded to COORD_DECIMALS."""
    arr = shapely.transform(geoms.array, lambda xy: np.round(xy, COORD_DECIMALS))
    return [shapely.geometry.mapping(g) for g in arr]


def _text(value: Any) -> str:
    return "" if _is_blank(value) else str(value)


def _fmt(value: Any, spec: str) -> str:
    if _is_number(value):
        return format(value, spec)
    return _text(value)


def _collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


# --------------------------------------------------------------------------- sites


def site_collection(sites: gpd.GeoDataFrame) -> dict:
    """GeoJSON for clinic sites with an escaped popup and a site-code label.

    Parameters
    ----------
    sites
        Columns ``site_code``, ``name``, ``service_line`` and Point geometry.
    """
    sites = validate_frame(sites, layer="sites", columns=SITE_COLUMNS, geom_types=("Point",))
    features = []
    for row, geom in zip(sites.itertuples(index=False), _rounded(sites.geometry)):
        code, name, line = (
            html.escape(_text(v)) for v in (row.site_code, row.name, row.service_line)
        )
        features.append(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {
                    "label": code,
                    "popup": f'<div class="prm-pop"><b>{name}</b><br>Site {code}'
                    f"<br>Service line: {line}</div>",
                },
            }
        )
    return _collection(features)


# --------------------------------------------------------------------------- hexes


def catchment_label(site_code: str, method: str, parameter: float, *, truncated: bool) -> str:
    """Human label of one catchment, e.g. ``"COL1 · 10 min drive (truncated at network edge)"``."""
    if method == "drive_time":
        what = f"{parameter:g} min drive"
    elif method == "radius":
        what = f"{parameter:g} km radius"
    else:
        raise ValueError(f"unknown catchment method {method!r}")
    tail = " (truncated at network edge)" if truncated else ""
    return f"{site_code} · {what}{tail}"


def hex_collections(
    hexes: gpd.GeoDataFrame,
    *,
    color: Callable[[float], str],
) -> list[tuple[tuple[str, str, float], str, dict]]:
    """One GeoJSON collection of H3 cells per catchment (site, method, parameter).

    Parameters
    ----------
    hexes
        Columns ``h3``, ``site_code``, ``method`` (``drive_time`` | ``radius``),
        ``parameter`` (minutes or km), ``white_space`` (non-negative int),
        ``truncated`` (bool) and Polygon geometry.
    color
        Maps a white-space count to a ``#rrggbb`` fill colour.

    Returns
    -------
    list
        ``(key, label, collection)`` sorted by key; ``label`` (plain text, not
        escaped) says "(truncated at network edge)" when any cell of the
        catchment is truncated. Feature property ``tip`` is escaped HTML.
    """
    hexes = validate_frame(
        hexes, layer="hexes", columns=HEX_COLUMNS, geom_types=("Polygon", "MultiPolygon")
    )
    problems = (
        _bad_rows(
            hexes,
            "method",
            lambda v: v in METHODS,
            f"method must be one of {', '.join(METHODS)}",
            "hexes",
        )
        + _bad_rows(
            hexes,
            "parameter",
            lambda v: _is_number(v) and v > 0,
            "parameter must be a positive number",
            "hexes",
        )
        + _bad_rows(
            hexes,
            "white_space",
            lambda v: _is_number(v) and v >= 0 and float(v).is_integer(),
            "white_space must be a non-negative integer",
            "hexes",
        )
        + _bad_rows(
            hexes,
            "truncated",
            lambda v: isinstance(v, (bool, np.bool_)),
            "truncated must be a boolean",
            "hexes",
        )
        + _bad_rows(hexes, "site_code", lambda v: not _is_blank(v), "site_code is empty", "hexes")
    )
    if problems:
        raise InputError("invalid hexes layer for the territory map", problems=problems)
    geoms = _rounded(hexes.geometry)
    out = []
    keys = list(
        zip(hexes["site_code"].astype(str), hexes["method"], hexes["parameter"].astype(float))
    )
    groups: dict[tuple[str, str, float], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    for key in sorted(groups):
        rows = groups[key]
        truncated = bool(hexes["truncated"].iloc[rows].any())
        label = catchment_label(*key, truncated=truncated)
        features = []
        for i in rows:
            count = int(hexes["white_space"].iloc[i])
            cell_cut = " · cell at network edge" if bool(hexes["truncated"].iloc[i]) else ""
            features.append(
                {
                    "type": "Feature",
                    "geometry": geoms[i],
                    "properties": {
                        "tip": html.escape(
                            f"{label}: {count} white-space prospect{'s' * (count != 1)}{cell_cut}"
                        ),
                        "style": {"fillColor": color(count)},
                    },
                }
            )
        out.append((key, label, _collection(features)))
    return out


# --------------------------------------------------------------------------- prospects


def breakdown_html(components: Any) -> str:
    """HTML table of a score breakdown, every value escaped.

    Parameters
    ----------
    components
        Sequence of dicts with keys ``name`` and ``points`` (required) and
        ``value``, ``weight``, ``reason`` (shown blank when absent).
    """
    if _is_blank(components):
        return ""
    # stored JSON, so checked: a string would otherwise be drawn letter by letter
    if isinstance(components, (str, bytes, dict)) or not isinstance(components, Iterable):
        raise InputError(
            "invalid score breakdown",
            problems=[
                Problem(
                    "must be a sequence of dicts", field="components", value=repr(components)[:80]
                )
            ],
        )
    rows = []
    for comp in components:
        if not isinstance(comp, dict) or "name" not in comp or "points" not in comp:
            raise InputError(
                "invalid score breakdown",
                problems=[
                    Problem(
                        "each component must be a dict with at least 'name' and 'points'",
                        field="components",
                        value=repr(comp)[:80],
                    )
                ],
            )
        cells = (
            _text(comp.get("name")),
            _fmt(comp.get("value"), ".4g"),
            _fmt(comp.get("weight"), ".2f"),
            _fmt(comp.get("points"), ".1f"),
            _text(comp.get("reason")),
        )
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    if not rows:
        return ""
    return (
        '<table class="prm-bd"><tr><th>Component</th><th>Value</th><th>Weight</th>'
        "<th>Points</th><th>Reason</th></tr>" + "".join(rows) + "</table>"
    )


def prospect_collection(prospects: gpd.GeoDataFrame, *, color: Callable[[float], str]) -> dict:
    """GeoJSON for scored prospects: colour by score, popup with the score breakdown.

    Parameters
    ----------
    prospects
        Columns ``provider_id``, ``name``, ``specialty``, ``score`` (0-100),
        ``segment``, ``drive_minutes`` (may be NaN), ``site_code``, optionally ``npi``,
        ``components`` (see :func:`breakdown_html`) and Point geometry.
    color
        Maps a score to a ``#rrggbb`` fill colour.

    Notes
    -----
    Per feature the properties are ``tip`` (name and score), ``popup`` (the
    escaped HTML card) and ``style``; about 0.5-1 kB per prospect with a
    five-component breakdown.
    """
    prospects = validate_frame(
        prospects, layer="prospects", columns=PROSPECT_COLUMNS, geom_types=("Point",)
    )
    problems = _bad_rows(
        prospects,
        "score",
        lambda v: _is_number(v) and 0 <= v <= 100,
        "score must be a number from 0 to 100",
        "prospects",
    )
    problems += _bad_rows(
        prospects,
        "drive_minutes",
        lambda v: _is_blank(v) or (_is_number(v) and v >= 0),
        "drive_minutes must be a non-negative number or empty",
        "prospects",
    )
    breakdowns: list[str] = []  # rendered once, here, and reused for the cards
    for label, value in prospects["components"].items():
        try:
            breakdowns.append(breakdown_html(value))
        except InputError as exc:
            problems.append(
                Problem(
                    f"row {label}: {exc.problems[0].message}",
                    file="prospects",
                    field="components",
                    value=repr(value)[:80],
                )
            )
    if problems:
        raise InputError("invalid prospects layer for the territory map", problems=problems)
    features = []
    npis = prospects["npi"] if "npi" in prospects else pd.Series(None, index=prospects.index)
    rows = zip(
        prospects.itertuples(index=False),
        _rounded(prospects.geometry),
        breakdowns,
        npis,
        strict=True,
    )
    for row, geom, breakdown, npi in rows:
        score = float(row.score)
        npi_txt = f" <small>NPI {html.escape(_text(npi))}</small>" if not _is_blank(npi) else ""
        name = html.escape(_text(row.name))
        drive = _fmt(row.drive_minutes, ".1f")
        drive_txt = f"{html.escape(drive)} min drive" if drive else "no drive time"
        card = (
            f'<div class="prm-pop"><b>{name}</b>{npi_txt}'
            f"<br>{html.escape(_text(row.specialty))} · "
            f"{html.escape(_text(row.segment))}<br>Score <b>{score:.0f}</b>/100 · {drive_txt}"
            f" · site {html.escape(_text(row.site_code))}"
            f"{breakdown}</div>"
        )
        features.append(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {
                    "tip": f"{name} · {score:.0f}",
                    "popup": card,
                    "style": {"fillColor": color(score)},
                },
            }
        )
    return _collection(features)


# --------------------------------------------------------------------------- roads


def road_class(value: Any) -> str:
    """Style class of an OSM ``highway`` value (osmnx may give a list; the first wins).

    ``*_link`` roads take their parent class; unknown or empty values are ``"other"``.
    """
    if isinstance(value, (list, tuple, np.ndarray)):
        value = value[0] if len(value) else None
    if _is_blank(value):
        return "other"
    name = str(value).removesuffix("_link")
    return name if name in ROAD_STYLES else "other"


def road_collection(roads: gpd.GeoDataFrame, *, decimals: int = 5) -> dict:
    """Roads merged into one MultiLineString feature per style class.

    Parameters
    ----------
    roads
        LineString/MultiLineString edges with a ``highway`` column, e.g. the
        edges frame of ``osmnx.graph_to_gdfs``. The two directions of a
        two-way street (same line, reversed) are drawn once.
    decimals
        Coordinate decimals kept; 5 (about 1 m) is plenty for a base layer
        and keeps a city network to a few MB.

    Returns
    -------
    dict
        FeatureCollection with major roads last (drawn on top), each feature
        carrying its ``style`` (grey shade and weight by class).
    """
    roads = validate_frame(
        roads, layer="roads", columns=ROAD_COLUMNS, geom_types=("LineString", "MultiLineString")
    )
    classes = np.array([road_class(v) for v in roads["highway"]], dtype=object)
    lines = shapely.normalize(roads.geometry.array)
    _, first = np.unique(shapely.to_wkb(lines), return_index=True)
    keep = np.zeros(len(lines), dtype=bool)
    keep[first] = True
    order = list(ROAD_STYLES)
    features = []
    for cls in sorted(set(classes[keep]), key=lambda c: -order.index(c)):
        parts = shapely.get_parts(lines[keep & (classes == cls)])
        merged = shapely.line_merge(shapely.multilinestrings(parts))
        merged = shapely.transform(merged, lambda xy: np.round(xy, decimals))
        weight, colour = ROAD_STYLES[cls]
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(merged),
                "properties": {
                    "highway": cls,
                    "style": {"color": colour, "weight": weight, "opacity": 0.9},
                },
            }
        )
    return _collection(features)
