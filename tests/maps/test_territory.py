"""The rendered territory map page: offline assets only, escaped popups, legends, layers."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import folium
import pandas as pd
import pytest

from core.errors import InputError
from maps.assets import ASSET_DIR
from maps.territory import build_territory_map, render_map_html

from .conftest import make_hexes, make_prospects, make_sites

TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
STAMP = "As of 2025-01-31 · NPPES 2025-01 · NUCC 22.0 <draft>"


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key):
                self.refs.append(a[key])


def _refs(page: str) -> list[str]:
    parser = _Refs()
    parser.feed(page)
    return parser.refs


def _geojson_layers(page: str) -> dict[str, dict]:
    """Name -> embedded FeatureCollection of every folium GeoJson layer in the page."""
    decoder = json.JSONDecoder()
    out = {}
    for match in re.finditer(r"(geo_json_[0-9a-f]+)_add\(", page):
        if page[match.end()] != "{":
            continue  # the function definition, not the call
        data, _ = decoder.raw_decode(page, match.end())
        out[match.group(1)] = data
    return out


def _external_urls(page: str) -> set[str]:
    return set(re.findall(r"https?://[^\s\"'<>`\\]+", page))


@pytest.fixture(scope="module")
def page(oakland_roads) -> str:
    m = build_territory_map(
        sites=make_sites(),
        hexes=make_hexes(),
        prospects=make_prospects(40),
        roads=oakland_roads,
        asset_url="/static",
        stamp=STAMP,
        title="West Oakland territory",
    )
    return render_map_html(m)


@pytest.fixture(scope="module")
def tiled_page(oakland_roads) -> str:
    m = build_territory_map(
        sites=make_sites(),
        hexes=make_hexes(),
        prospects=make_prospects(10),
        roads=oakland_roads,
        asset_url="/assets/",
        tile_url=TILE_URL,
    )
    return render_map_html(m)


def test_page_loads_only_vendored_assets(page):
    refs = _refs(page)
    assert refs, "the page must load Leaflet"
    for ref in refs:
        assert ref.startswith("/static/"), ref
        assert (ASSET_DIR / ref.removeprefix("/static/")).is_file(), ref
    assert _external_urls(page) == set()
    for cdn_lib in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "d3.min.js"):
        assert cdn_lib not in page.lower()
    assert "$(" not in page  # folium's jQuery-dependent code paths are not used


def test_tile_url_is_the_only_external_url(tiled_page):
    for ref in _refs(tiled_page):
        assert ref.startswith("/assets/vendor/"), ref
    assert _external_urls(tiled_page) == {TILE_URL}
    assert "L.tileLayer" in tiled_page
    assert "Map tiles" in tiled_page and "Roads (offline, OSM)" in tiled_page


def test_roads_are_the_base_layer_and_tiles_an_alternative(oakland_roads):
    m = build_territory_map(
        sites=make_sites(),
        hexes=make_hexes(),
        prospects=make_prospects(5),
        roads=oakland_roads,
        tile_url=TILE_URL,
    )
    base = [c for c in m._children.values() if isinstance(c, folium.map.Layer) and not c.overlay]
    assert [(b.layer_name, b.show) for b in base] == [
        ("Roads (offline, OSM)", True),
        ("Map tiles", False),
    ]
    no_roads = build_territory_map(
        sites=make_sites(), hexes=make_hexes(), prospects=make_prospects(5), tile_url=TILE_URL
    )
    tiles = [c for c in no_roads._children.values() if isinstance(c, folium.TileLayer)]
    assert len(tiles) == 1 and tiles[0].show


def test_prospect_popup_holds_escaped_breakdown(page):
    layers = _geojson_layers(page)
    prospect_fcs = [
        fc
        for fc in layers.values()
        if fc["features"] and "NPI" in fc["features"][0]["properties"].get("popup", "")
    ]
    assert len(prospect_fcs) == 1
    feats = prospect_fcs[0]["features"]
    assert len(feats) == 40
    popup = feats[0]["properties"]["popup"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in popup
    for header in ("Component", "Value", "Weight", "Points", "Reason"):
        assert f"<th>{header}</th>" in popup
    assert "referral_volume" in popup and "specialty_fit" in popup
    assert "<script>alert" not in page
    assert page.count("<script") == page.count("</script>")


def test_legend_title_and_stamp(page):
    assert 'id="prm-legend"' in page
    assert "Prospect score (0-100)" in page and "White-space prospects per hex" in page
    assert "linear-gradient" in page
    assert "<title>West Oakland territory</title>" in page
    assert "NUCC 22.0 &lt;draft&gt;" in page and "<draft>" not in page


def test_layers_and_controls(page):
    assert "L.control.layers(" in page
    assert "(truncated at network edge)" in page
    names = re.findall(r'"(Catchment [^"]+)"', page)
    assert len(set(names)) == 6
    assert "Clinic sites" in page and "Prospects (40)" in page


def test_fits_bounds_to_the_data(page):
    match = re.search(r"fitBounds\(\s*(\[\[.*?\]\])", page, re.DOTALL)
    assert match
    (south, west), (north, east) = json.loads(match.group(1))
    sites, prospects = make_sites(), make_prospects(40)
    minx, miny, maxx, maxy = pd.concat([sites.geometry, prospects.geometry]).total_bounds
    assert south <= miny and west <= minx and north >= maxy and east >= maxx
    assert north - south < 0.1 and east - west < 0.1  # data extent, not the world


def test_two_thousand_prospects_are_one_layer(oakland_roads):
    m = build_territory_map(
        sites=make_sites(),
        hexes=make_hexes(),
        prospects=make_prospects(2000, seed=3),
        roads=oakland_roads,
    )
    page = render_map_html(m)
    layers = _geojson_layers(page)
    sizes = sorted(len(fc["features"]) for fc in layers.values())
    assert sizes[-1] == 2000
    assert len(layers) == 1 + 6 + 1 + 1  # roads, catchments, prospects, sites
    assert page.count("L.marker(") == 0 and page.count("L.circleMarker(") == 0
    assert page.count("new L.CircleMarker(latlng") == 2  # prospects and sites pointToLayer
    assert len(page) < 2000 * 1200 + 500_000


def test_empty_prospects_and_hexes_still_render(sites):
    prospects = make_prospects(3).iloc[0:0]
    hexes = make_hexes().iloc[0:0]
    page = render_map_html(build_territory_map(sites=sites, hexes=hexes, prospects=prospects))
    assert "Prospect score" not in page and "White-space prospects" not in page
    assert "Clinic site" in page
    assert len(_geojson_layers(page)) == 1


def test_invalid_input_names_layer_and_field(sites, hexes, prospects):
    bad = prospects.drop(columns=["components"])
    with pytest.raises(InputError) as info:
        build_territory_map(sites=sites, hexes=hexes, prospects=bad)
    assert [(p.file, p.field) for p in info.value.problems] == [("prospects", "components")]
