"""Offline interactive territory map: sites, catchment hexes, scored prospects, roads.

:func:`build_territory_map` returns a :class:`folium.Map` whose page loads only
the vendored Leaflet files under ``asset_url`` (see :mod:`maps.assets`): folium's
default CDN list (Leaflet, jQuery, Bootstrap, Font Awesome, awesome-markers) is
replaced per map instance, and only features that need nothing but Leaflet are
used (GeoJson layers with circle markers, GeoJsonPopup/GeoJsonTooltip, plain
HTML legends drawn with branca colour maps). The only external URL a page can
contain is the optional ``tile_url``.

The base layer with no internet is the road network itself ("Roads (offline,
OSM)"), drawn as grey lines weighted by road class; a tile layer is offered as
a second base layer when ``tile_url`` is given. Prospects are a single GeoJson
layer drawn on a canvas, so a few thousand points stay fast.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.elements import MacroElement
from folium.template import Template
from folium.utilities import JsCode

from maps.assets import join_asset_url, leaflet_files
from maps.layers import (
    ROAD_STYLES,
    hex_collections,
    prospect_collection,
    road_collection,
    site_collection,
)

__all__ = ["build_territory_map", "render_map_html"]

ROADS_LAYER_NAME = "Roads (offline, OSM)"
TILES_LAYER_NAME = "Map tiles"
# Roads sit in a pane of their own under the catchments (overlayPane = 400), deaf to the mouse.
# Every interactive layer (catchments, prospects, sites, planning overlays) shares the overlay
# pane's one canvas: a canvas covers the whole map, so a second interactive canvas in a higher
# pane took every click and hover meant for the layers under it (popups never opened). One
# canvas hit-tests all its layers, topmost first; points are kept on top (POINTS_ON_TOP).
PANES = {"prm-roads": 350}
WHITE_SPACE_COLORS = ("#f7fcf5", "#a1d99b", "#41ab5d", "#006d2c")
SCORE_COLORS = ("#fee08b", "#fdae61", "#f46d43", "#d73027", "#a50026")
SITE_STYLE = {
    "radius": 9,
    "color": "#111111",
    "weight": 3,
    "fill_color": "#ffffff",
    "fill_opacity": 1.0,
}


class _Overlay(MacroElement):
    """A fixed-position HTML box (title or legend) plus its style sheet."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        {{ this.body }}
        {% endmacro %}
        """
    )

    def __init__(self, *, body: str, css: str) -> None:
        super().__init__()
        self._name = "PrmOverlay"
        self.body = body
        self.css = css


_CSS = """
.prm-box{position:absolute;z-index:1000;background:rgba(255,255,255,.92);padding:6px 10px;
 border-radius:5px;box-shadow:0 1px 4px rgba(0,0,0,.35);font:12px/1.35 system-ui,sans-serif}
.prm-title{top:10px;left:54px;max-width:45%}
.prm-title h1{font-size:15px;margin:0 0 2px}
.prm-legend{bottom:24px;right:10px;width:220px}
.prm-legend .bar{height:10px;border:1px solid #999;margin:2px 0}
.prm-legend .ticks{display:flex;justify-content:space-between;color:#333}
.prm-legend .key{display:flex;align-items:center;gap:6px;margin-top:4px}
.prm-legend .dot{display:inline-block;width:12px;height:12px;border-radius:50%}
.prm-legend .note{color:#333;font-size:11px}
.prm-site-label{font-weight:700}
.prm-pop table{border-collapse:collapse;margin-top:4px;font-size:11px}
.prm-pop td,.prm-pop th{border:1px solid #ccc;padding:1px 4px;text-align:left}
"""


def _ramp(colormap: cm.LinearColormap, caption: str) -> str:
    """Legend block: caption, CSS gradient sampled from the colour map, end ticks."""
    stops = ",".join(colormap.rgb_hex_str(v) for v in np.linspace(colormap.vmin, colormap.vmax, 9))
    mid = (colormap.vmin + colormap.vmax) / 2
    ticks = "".join(f"<span>{v:g}</span>" for v in (colormap.vmin, round(mid, 1), colormap.vmax))
    return (
        f"<div><b>{html.escape(caption)}</b>"
        f'<div class="bar" style="background:linear-gradient(to right,{stops})"></div>'
        f'<div class="ticks">{ticks}</div></div>'
    )


def _legend(
    score_cm: cm.LinearColormap | None,
    white_cm: cm.LinearColormap | None,
    *,
    has_sites: bool,
    has_roads: bool,
) -> str:
    parts = []
    if score_cm is not None:
        parts.append(_ramp(score_cm, "Prospect score (0-100)"))
    if white_cm is not None:
        parts.append(_ramp(white_cm, "White-space prospects per hex"))
    if has_sites:
        parts.append(
            '<div class="key"><span class="dot" style="background:#fff;'
            'border:3px solid #111;width:10px;height:10px"></span>Clinic site</div>'
        )
    if has_roads:
        parts.append(
            '<div class="key"><span style="display:inline-block;width:22px;height:3px;'
            f'background:{ROAD_STYLES["primary"][1]}"></span>Road (offline OSM)</div>'
        )
    return '<div class="prm-box prm-legend" id="prm-legend">' + "".join(parts) + "</div>"


def _bounds(frames: list[gpd.GeoDataFrame]) -> list[list[float]] | None:
    boxes = [
        (f.to_crs(4326) if f.crs is not None and f.crs.to_epsg() != 4326 else f).total_bounds
        for f in frames
        if len(f)
    ]
    if not boxes:
        return None
    arr = np.vstack(boxes)
    return [
        [float(arr[:, 1].min()), float(arr[:, 0].min())],
        [float(arr[:, 3].max()), float(arr[:, 2].max())],
    ]


class _PointsOnTop(MacroElement):
    """Script: point layers drawn over the areas again whenever an area overlay is ticked on.

    A canvas draws its layers in the order they were added; an area layer ticked on in the
    layer control would otherwise cover (and take the clicks of) the prospects and sites.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.on("overlayadd", function () {
          {{ this._parent.get_name() }}.eachLayer(function (layer) {
            if (layer instanceof L.CircleMarker) { layer.bringToFront(); }
          });
        });
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "PrmPointsOnTop"


def build_territory_map(
    *,
    sites: gpd.GeoDataFrame,
    hexes: gpd.GeoDataFrame,
    prospects: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None = None,
    asset_url: str = "/static",
    tile_url: str | None = None,
    tile_attribution: str = "© OpenStreetMap contributors",
    title: str = "Territory map",
    stamp: str | None = None,
    extra_layers: Callable[[folium.Map], object] | None = None,
    fit_also: tuple[gpd.GeoDataFrame | None, ...] = (),
) -> folium.Map:
    """Build the interactive territory map.

    Parameters
    ----------
    sites
        Clinic sites: ``site_code``, ``name``, ``service_line``, Point geometry.
        Drawn as white circles with a black ring and a permanent site-code label.
    hexes
        Catchment H3 cells: ``h3``, ``site_code``, ``method``, ``parameter``,
        ``white_space``, ``truncated``, Polygon geometry. One overlay per
        catchment, shaded by white-space count; only the largest catchment of
        each site is shown on load (the others are ticked off in the control).
    prospects
        Scored prospects: ``provider_id``, ``name``, ``specialty``, ``score``,
        ``segment``, ``drive_minutes``, ``site_code``, ``components``, Point
        geometry. One canvas-drawn GeoJson layer coloured by score; the popup
        shows the escaped score breakdown.
    roads
        Road edges with a ``highway`` column; becomes the offline base layer.
    asset_url
        URL prefix where :data:`maps.assets.ASSET_DIR` is served.
    tile_url
        Optional XYZ tile URL template, added as a second base layer (not shown
        on load, so the page never depends on it).
    tile_attribution
        Attribution shown for the tile layer.
    title
        Title box heading and HTML ``<title>``.
    stamp
        Free text under the title (as-of date, data versions).
    extra_layers
        Called with the map before the layer control is added, so overlays it
        adds (e.g. :func:`maps.planning.add_planning_layers`) are listed in it.
    fit_also
        More frames the view is fitted to (e.g. the planning overlays' candidates,
        which may lie away from every site).

    Returns
    -------
    folium.Map
        Fitted to the sites, hexes, prospects and ``fit_also`` (the roads when
        those are all empty).

    Raises
    ------
    core.errors.InputError
        When a frame lacks columns or holds invalid rows (every problem listed).

    Notes
    -----
    Not handled yet: clustering of prospects at low zoom, per-site colour
    coding, and catchments whose hexes carry different ``truncated`` flags are
    labelled truncated as a whole.
    """
    counts = (
        pd.to_numeric(hexes["white_space"], errors="coerce")
        if "white_space" in hexes.columns
        else pd.Series(dtype=float)
    )
    white_max = float(max(1.0, np.nan_to_num(counts.max(), nan=1.0))) if len(counts) else 1.0
    white_cm = cm.LinearColormap(list(WHITE_SPACE_COLORS), vmin=0, vmax=white_max)
    score_cm = cm.LinearColormap(list(SCORE_COLORS), vmin=0, vmax=100)
    site_fc = site_collection(sites)
    hex_groups = hex_collections(hexes, color=white_cm.rgb_hex_str)
    prospect_fc = prospect_collection(prospects, color=score_cm.rgb_hex_str)
    road_fc = road_collection(roads) if roads is not None else None

    m = folium.Map(location=None, tiles=None, prefer_canvas=True, control_scale=True)
    files = leaflet_files()
    # Instance attributes shadow folium's class-level CDN lists for this map only.
    m.default_js = [("leaflet", join_asset_url(asset_url, files["leaflet_js"]))]
    m.default_css = [("leaflet_css", join_asset_url(asset_url, files["leaflet_css"]))]
    m.get_root().title = html.escape(title)
    for pane, z in PANES.items():
        folium.map.CustomPane(pane, z_index=z, pointer_events=False).add_to(m)

    if road_fc is not None and road_fc["features"]:
        folium.GeoJson(
            road_fc,
            name=ROADS_LAYER_NAME,
            overlay=False,
            pane="prm-roads",
            interactive=False,
            smooth_factor=1.5,
        ).add_to(m)
    if tile_url is not None:
        folium.TileLayer(
            tiles=tile_url,
            attr=html.escape(tile_attribution),
            name=TILES_LAYER_NAME,
            overlay=False,
            show=road_fc is None or not road_fc["features"],
        ).add_to(m)

    # Shown on load: per site, the largest drive-time catchment (else the largest radius).
    shown = {}
    for key, _, _ in hex_groups:
        best = shown.get(key[0])
        if best is None or (key[1] == "drive_time", key[2]) > (best[1] == "drive_time", best[2]):
            shown[key[0]] = key
    for key, label, fc in hex_groups:
        folium.GeoJson(
            fc,
            name=html.escape(f"Catchment {label}"),
            show=shown[key[0]] == key,
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
            color="#31a354",
            weight=0.6,
            fill_opacity=0.55,
            opacity=0.8,
        ).add_to(m)

    if prospect_fc["features"]:
        folium.GeoJson(
            prospect_fc,
            name=f"Prospects ({len(prospect_fc['features']):,})",
            marker=folium.CircleMarker(
                radius=5, color="#333333", weight=0.8, fill=True, fill_opacity=0.9
            ),
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False, max_width=460),
        ).add_to(m)
    if site_fc["features"]:
        folium.GeoJson(
            site_fc,
            name="Clinic sites",
            marker=folium.CircleMarker(**SITE_STYLE),
            # A permanent tooltip bound to the whole group opens once; bind one per site.
            on_each_feature=JsCode(
                "function(feature, layer) {layer.bindTooltip(feature.properties.label,"
                " {permanent: true, direction: 'right', offset: [10, 0],"
                " className: 'prm-site-label'});}"
            ),
            popup=folium.GeoJsonPopup(fields=["popup"], labels=False),
        ).add_to(m)

    if extra_layers is not None:
        extra_layers(m)
    n_layers = len(hex_groups) + 3
    folium.LayerControl(collapsed=n_layers > 12, position="topright").add_to(m)
    m.add_child(_PointsOnTop())
    stamp_html = f"<div>{html.escape(stamp)}</div>" if stamp else ""
    m.add_child(
        _Overlay(
            css=_CSS,
            body=(
                f'<div class="prm-box prm-title" id="prm-title"><h1>{html.escape(title)}</h1>'
                f"{stamp_html}</div>"
                + _legend(
                    score_cm if prospect_fc["features"] else None,
                    white_cm if hex_groups else None,
                    has_sites=bool(site_fc["features"]),
                    has_roads=road_fc is not None and bool(road_fc["features"]),
                )
            ),
        )
    )

    more = [f for f in fit_also if f is not None]
    bounds = _bounds([sites, hexes, prospects, *more]) or (
        _bounds([roads]) if roads is not None else None
    )
    if bounds is not None:
        m.fit_bounds(bounds, padding=(20, 20))
    return m


def render_map_html(m: folium.Map) -> str:
    """Full standalone HTML page of a map built by :func:`build_territory_map`.

    Parameters
    ----------
    m
        The map.

    Returns
    -------
    str
        The page; its scripts and style sheets are the ones listed in the map's
        ``default_js`` / ``default_css`` (the vendored files for maps built here).
    """
    return m.get_root().render()
