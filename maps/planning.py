"""Planning layers for the territory map: isochrones, nearest-site assignment,
liaison territories and expansion candidates.

:func:`add_planning_layers` adds up to four overlays to a map built by
:func:`maps.territory.build_territory_map` (pass it as that function's
``extra_layers`` so the layer control, which Leaflet needs last, lists them;
the page stays offline: only
GeoJson layers and plain HTML). Labels carry the flags: an isochrone reaching
the road network's edge says "truncated at network edge", a straight-line one
says "estimated"; assignment cells routed by straight line are hatched lighter
and say "estimated" in their tooltip.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import numpy as np

from maps.layers import validate_frame

__all__ = ["PALETTE", "add_planning_layers", "colour_for"]

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def colour_for(keys: list[str]) -> dict[str, str]:
    """A stable colour per key (sorted order over :data:`PALETTE`, cycling)."""
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(sorted(set(map(str, keys))))}


def _escape(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _swatches(title: str, colours: dict[str, str], *, note: str = "") -> str:
    keys = "".join(
        f'<div class="key"><span class="dot" style="background:{c};border-radius:2px"></span>'
        f"{_escape(k)}</div>"
        for k, c in colours.items()
    )
    extra = f'<div class="note">{_escape(note)}</div>' if note else ""
    return f"<div><b>{_escape(title)}</b>{keys}{extra}</div>"


def _legend(parts: list[str]) -> folium.Element:
    """The planning legend box (bottom left; the territory legend holds the bottom right)."""
    return folium.Element(
        '<div class="prm-box prm-legend" id="prm-planning-legend" '
        'style="left:10px;right:auto;bottom:24px;max-height:45%;overflow:auto">'
        + "".join(parts)
        + "</div>"
    )


def _isochrones(m: folium.Map, iso: gpd.GeoDataFrame) -> str:
    iso = validate_frame(
        iso,
        layer="isochrones",
        columns=("site_code", "minutes", "label", "truncated", "estimated"),
        geom_types=("Polygon", "MultiPolygon"),
    )
    colours = colour_for(iso["site_code"].tolist())
    for minutes in sorted(iso["minutes"].unique(), reverse=True):
        part = iso[iso["minutes"] == minutes]
        feats = []
        for row in part.itertuples(index=False):
            dash = "6 4" if row.estimated else None
            feats.append(
                {
                    "type": "Feature",
                    "geometry": row.geometry.__geo_interface__,
                    "properties": {
                        "tip": _escape(row.label),
                        "style": {
                            "color": colours[str(row.site_code)],
                            "fillColor": colours[str(row.site_code)],
                            "dashArray": dash,
                            "weight": 3 if row.truncated else 1.5,
                        },
                    },
                }
            )
        any_cut = bool(part["truncated"].any())
        any_est = bool(part["estimated"].any())
        flags = "".join(
            [
                " (some truncated at network edge)" if any_cut else "",
                " (some estimated)" if any_est else "",
            ]
        )
        folium.GeoJson(
            {"type": "FeatureCollection", "features": feats},
            name=_escape(f"Isochrones {minutes:g} min{flags}"),
            show=False,
            style_function=lambda f: dict(f["properties"]["style"], fillOpacity=0.12),
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        ).add_to(m)
    return _swatches(
        "Isochrones by site",
        colours,
        note="dashed = estimated (straight line); heavy = truncated at network edge",
    )


def _assignment(m: folium.Map, cells: gpd.GeoDataFrame) -> str:
    cells = validate_frame(
        cells,
        layer="assignment",
        columns=("site_code", "drive_minutes", "estimated"),
        geom_types=("Polygon",),
    )
    colours = colour_for(cells["site_code"].tolist())
    feats = []
    for row in cells.itertuples(index=False):
        est = bool(row.estimated)
        tip = f"nearest site {row.site_code}: {row.drive_minutes:.1f} min" + (
            " (estimated, straight line)" if est else " by road"
        )
        feats.append(
            {
                "type": "Feature",
                "geometry": row.geometry.__geo_interface__,
                "properties": {
                    "tip": _escape(tip),
                    "style": {
                        "fillColor": colours[str(row.site_code)],
                        "fillOpacity": 0.2 if est else 0.45,
                        "weight": 0,
                    },
                },
            }
        )
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name="Nearest site by drive time",
        show=False,
        style_function=lambda f: f["properties"]["style"],
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(m)
    return _swatches(
        "Nearest site by drive time", colours, note="lighter = estimated (straight line)"
    )


def _territories(m: folium.Map, terr: gpd.GeoDataFrame) -> str:
    terr = validate_frame(
        terr,
        layer="territories",
        columns=("liaison", "load", "share", "plan", "version"),
        geom_types=("Polygon", "MultiPolygon"),
    )
    colours = colour_for(terr["liaison"].tolist())
    feats = [
        {
            "type": "Feature",
            "geometry": r.geometry.__geo_interface__,
            "properties": {
                "tip": _escape(f"{r.liaison}: load {r.load:,.1f} ({r.share:.0%})"),
                "style": {
                    "color": "#222222",
                    "weight": 2,
                    "fillColor": colours[str(r.liaison)],
                    "fillOpacity": 0.35,
                },
            },
        }
        for r in terr.itertuples(index=False)
    ]
    name = f"Territories: {terr['plan'].iloc[0]} v{terr['version'].iloc[0]} (by liaison)"
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name=_escape(name),
        style_function=lambda f: f["properties"]["style"],
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
    ).add_to(m)
    return _swatches("Territories by liaison", colours)


#: A candidate the planner refuses to pick (adds nothing, off the road network).
_FLAGGED = "#969696"


def _candidates(m: folium.Map, cand: gpd.GeoDataFrame) -> str:
    cand = validate_frame(
        cand,
        layer="candidates",
        columns=(
            "label",
            "chosen",
            "white_space_providers",
            "cannibalised_providers",
            "estimated",
            "truncated",
            "scenario",
        ),
        geom_types=("Point",),
    )
    top = float(max(1.0, np.nanmax(cand["white_space_providers"].to_numpy(dtype=float))))
    feats = []
    for r in cand.itertuples(index=False):
        flag = getattr(r, "flag", None)
        flag = flag if isinstance(flag, str) and flag else None  # a missing one reads as NaN
        flags = "".join(
            [
                " · estimated (straight line)" if r.estimated else "",
                " · truncated at network edge" if r.truncated else "",
            ]
        )
        card = (
            f"<b>{_escape(r.label)}</b>{' (chosen)' if r.chosen else ''}"
            f"{_escape(f' (not picked: {flag})') if flag else ''}<br>"
            f"adds {r.white_space_providers:,.0f} white-space providers, "
            f"overlaps {r.cannibalised_providers:,.0f} already covered{_escape(flags)}"
        )
        feats.append(
            {
                "type": "Feature",
                "geometry": r.geometry.__geo_interface__,
                "properties": {
                    "popup": card,
                    "tip": _escape(
                        f"{r.label}: +{r.white_space_providers:,.0f}"
                        + (f" (not picked: {flag})" if flag else "")
                    ),
                    "radius": 5 + 15 * float(r.white_space_providers) / top,
                    "fill": _FLAGGED if flag else "#31a354" if r.chosen else "#fdae6b",
                },
            }
        )
    folium.GeoJson(
        {"type": "FeatureCollection", "features": feats},
        name=_escape(f"Candidate sites: {cand['scenario'].iloc[0]} (size = added white space)"),
        marker=folium.CircleMarker(
            radius=8, color="#333333", weight=1, fill=True, fill_opacity=0.85
        ),
        style_function=lambda f: {
            "radius": f["properties"]["radius"],
            "fillColor": f["properties"]["fill"],
        },
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
    ).add_to(m)
    return _swatches(
        "Candidate sites",
        {"chosen": "#31a354", "not chosen": "#fdae6b", "never picked (see its label)": _FLAGGED},
        note=f"size = white-space providers added (largest {top:,.0f})",
    )


def add_planning_layers(
    m: folium.Map,
    *,
    isochrones: gpd.GeoDataFrame | None = None,
    assignment: gpd.GeoDataFrame | None = None,
    territories: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Add the planning overlays that are given (and not empty) to ``m``.

    Parameters
    ----------
    isochrones
        ``site_code``, ``minutes``, ``label``, ``truncated``, ``estimated`` and
        polygon geometry; one overlay per time limit, coloured by site
        (estimated outlines dashed, truncated ones drawn heavier).
    assignment
        One hexagon per cell: ``site_code``, ``drive_minutes``, ``estimated``.
    territories
        ``plan``, ``version``, ``liaison``, ``load``, ``share`` and outlines;
        coloured by liaison.
    candidates
        ``scenario``, ``label``, ``chosen``, ``white_space_providers``,
        ``cannibalised_providers``, ``estimated``, ``truncated`` and points;
        sized by added white space, chosen ones green; an optional ``flag``
        (the planner's reason for never picking it) greys it out and is named
        in its label and popup.

    Raises
    ------
    core.errors.InputError
        When a frame lacks columns or holds invalid geometries (all listed).

    Notes
    -----
    A legend box (bottom left, ``#prm-planning-legend``) keys the colours of
    each overlay added. Pass the candidates to ``fit_also`` of
    :func:`maps.territory.build_territory_map` so the view includes them.
    """
    parts = []
    for frame, add in (
        (assignment, _assignment),
        (isochrones, _isochrones),
        (territories, _territories),
        (candidates, _candidates),
    ):
        if frame is not None and len(frame):
            parts.append(add(m, frame))
    if parts:
        m.get_root().html.add_child(_legend(parts))
    return m
