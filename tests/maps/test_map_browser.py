"""The folium maps in a real browser: a click on a prospect opens its popup, planning
tooltips open, the planning legend is shown and the view holds the candidates.

Before the fix, the clinic sites were drawn on a second canvas in a higher pane: a canvas
covers the whole map, so it took every mouse event (``document.elementFromPoint`` on a
prospect returned the sites' canvas) and no prospect popup or planning tooltip opened.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from maps.assets import ASSET_DIR
from maps.planning import add_planning_layers
from maps.territory import build_territory_map, render_map_html
from tests.conftest import screenshot
from tests.maps.conftest import CENTER, make_hexes, make_prospects, make_sites

# the map object folium names at random, and a point layer's pixel position on screen
_FIND = """(kind) => {
  const map = Object.values(window).find((v) => v instanceof L.Map);
  const hits = [];
  map.eachLayer((l) => {
    const p = l.feature && l.feature.properties;
    if (l instanceof L.CircleMarker && p && p[kind] !== undefined) hits.push(l);
  });
  const layer = hits[0];
  const pt = map.latLngToContainerPoint(layer.getLatLng());
  const box = map.getContainer().getBoundingClientRect();
  const x = box.left + pt.x, y = box.top + pt.y;
  const el = document.elementFromPoint(x, y);
  return {x, y, pane: el.closest(".leaflet-pane").className,
          inView: map.getBounds().contains(layer.getLatLng())};
}"""


def _open(chromium, tmp_path, m) -> object:
    page_file = tmp_path / "map.html"
    page_file.write_text(render_map_html(m))
    page = chromium.new_page(viewport={"width": 1000, "height": 700})
    page.goto(page_file.as_uri())
    page.wait_for_function(
        "() => window.L && document.querySelector('.leaflet-overlay-pane canvas')"
    )
    return page


@pytest.mark.slow
def test_a_click_on_a_prospect_opens_its_popup(chromium, tmp_path):
    prospects = make_prospects(40)
    m = build_territory_map(
        sites=make_sites(),
        hexes=make_hexes(),
        prospects=prospects,
        asset_url=ASSET_DIR.as_uri(),
    )
    page = _open(chromium, tmp_path, m)
    try:
        spot = page.evaluate(_FIND, "popup")
        # the topmost element at a prospect is the canvas that draws the prospects
        assert "leaflet-overlay-pane" in spot["pane"], spot
        page.mouse.click(spot["x"], spot["y"])
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5000)
        assert "Score" in popup.inner_text() or "score" in popup.inner_text()
        screenshot(page, "map-prospect-popup")
    finally:
        page.close()


@pytest.mark.slow
def test_planning_tooltips_legend_and_bounds_with_candidates(chromium, tmp_path):
    sites = make_sites()
    # a candidate far east of every site: the view must still hold it
    far = (CENTER[1] + 0.08, CENTER[0] + 0.02)
    candidates = gpd.GeoDataFrame(
        {
            "scenario": ["s1", "s1"],
            "label": ["Far east", "Near"],
            "chosen": [True, False],
            "white_space_providers": [120.0, 0.0],
            "cannibalised_providers": [3.0, 40.0],
            "estimated": [False, True],
            "truncated": [False, False],
        },
        geometry=[shapely.Point(*far), shapely.Point(CENTER[1] + 0.002, CENTER[0] - 0.002)],
        crs=4326,
    )
    territories = gpd.GeoDataFrame(
        {"plan": ["p"], "version": [1], "liaison": ["Ana"], "load": [5.0], "share": [1.0]},
        geometry=[shapely.box(CENTER[1] - 0.01, CENTER[0] - 0.01, CENTER[1] + 0.01, CENTER[0])],
        crs=4326,
    )
    empty = make_prospects(40).iloc[:0]
    m = build_territory_map(
        sites=sites,
        hexes=make_hexes().iloc[:0],
        prospects=empty,
        asset_url=ASSET_DIR.as_uri(),
        title="Planning map",
        extra_layers=lambda fm: add_planning_layers(
            fm, territories=territories, candidates=candidates
        ),
        fit_also=(territories, candidates),
    )
    page = _open(chromium, tmp_path, m)
    try:
        spot = page.evaluate(_FIND, "tip")
        assert spot["inView"], "the view leaves out an expansion candidate"
        assert "leaflet-overlay-pane" in spot["pane"], spot
        page.mouse.move(spot["x"], spot["y"])
        tip = page.locator(".leaflet-tooltip", has_text="Far east")
        tip.wait_for(timeout=5000)
        legend = page.locator("#prm-planning-legend")
        assert legend.is_visible()
        text = legend.inner_text()
        assert "Candidate sites" in text and "chosen" in text and "Ana" in text
        screenshot(page, "planning-map-tooltip-legend")
    finally:
        page.close()
