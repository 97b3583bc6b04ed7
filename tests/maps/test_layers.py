"""GeoJSON builders: validation, escaping, rounding, grouping, road merging."""

from __future__ import annotations

import math
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from core.errors import InputError
from maps.layers import (
    breakdown_html,
    catchment_label,
    hex_collections,
    prospect_collection,
    road_class,
    road_collection,
    site_collection,
    validate_frame,
)

from .conftest import make_prospects

RED = "#ff0000"


def _red(_: float) -> str:
    return RED


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


# --------------------------------------------------------------------------- validation


def test_validate_frame_collects_every_problem(sites):
    bad = sites.drop(columns=["name", "service_line"])
    bad.loc[1, "geometry"] = LineString([(0, 0), (1, 1)])
    bad = pd.concat([bad, gpd.GeoDataFrame({"site_code": ["X"]}, geometry=[None], crs=4326)])
    with pytest.raises(InputError) as info:
        validate_frame(
            bad, layer="sites", columns=("site_code", "name", "service_line"), geom_types=("Point",)
        )
    fields = sorted(p.field for p in info.value.problems)
    assert fields == ["geometry", "geometry", "name", "service_line"]
    assert all(p.file == "sites" for p in info.value.problems)


def test_validate_frame_reprojects_to_wgs84(sites):
    projected = sites.to_crs(3857)
    back = validate_frame(projected, layer="sites", columns=(), geom_types=("Point",))
    assert back.crs.to_epsg() == 4326
    assert np.allclose(back.total_bounds, sites.total_bounds)


def test_validate_frame_flags_projected_coordinates_without_crs(sites):
    unlabeled = sites.to_crs(3857).set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="EPSG:4326"):
        validate_frame(unlabeled, layer="sites", columns=(), geom_types=("Point",))


# --------------------------------------------------------------------------- sites / hexes


def test_site_collection_escapes_and_labels(sites):
    fc = site_collection(sites)
    assert [f["properties"]["label"] for f in fc["features"]] == ["WOAK", "EAST"]
    popup = fc["features"][0]["properties"]["popup"]
    assert "West Oakland &lt;PT&gt;" in popup and "<PT>" not in popup
    assert "Physical therapy" in popup
    assert "East &amp; Sons" in fc["features"][1]["properties"]["popup"]


def test_hex_collections_group_per_catchment(hexes):
    groups = hex_collections(hexes, color=_red)
    keys = [k for k, _, _ in groups]
    assert len(keys) == 6 and keys == sorted(keys)
    sizes = {k: len(fc["features"]) for k, _, fc in groups}
    assert sizes[("WOAK", "drive_time", 5.0)] == 7
    assert sizes[("WOAK", "drive_time", 10.0)] == 19
    labels = {k: label for k, label, _ in groups}
    assert labels[("EAST", "drive_time", 10.0)].endswith("(truncated at network edge)")
    assert "truncated" not in labels[("WOAK", "drive_time", 10.0)]
    assert labels[("WOAK", "radius", 2.0)] == "WOAK · 2 km radius"
    feat = groups[0][2]["features"][0]["properties"]
    assert feat["style"] == {"fillColor": RED}
    assert "white-space prospect" in feat["tip"]


def test_hex_colour_follows_white_space(hexes):
    groups = hex_collections(hexes, color=lambda v: f"#{int(v):06d}")
    counts = hexes[(hexes.site_code == "EAST") & (hexes.method == "radius")]["white_space"]
    fc = {k: fc for k, _, fc in groups}[("EAST", "radius", 2.0)]
    got = [f["properties"]["style"]["fillColor"] for f in fc["features"]]
    assert got == [f"#{int(v):06d}" for v in counts]


def test_hex_collections_reports_all_bad_rows(hexes):
    hexes = hexes.copy()
    hexes["method"] = hexes["method"].astype(object)
    hexes["white_space"] = hexes["white_space"].astype(object)
    hexes.loc[0, "method"] = "isochrone"
    hexes.loc[1, "white_space"] = -2
    hexes.loc[2, "white_space"] = 1.5
    hexes.loc[3, "parameter"] = 0
    with pytest.raises(InputError) as info:
        hex_collections(hexes, color=_red)
    got = sorted((p.field, p.message.split(":")[0]) for p in info.value.problems)
    assert got == [
        ("method", "row 0"),
        ("parameter", "row 3"),
        ("white_space", "row 1"),
        ("white_space", "row 2"),
    ]


def test_catchment_label_rejects_unknown_method():
    with pytest.raises(ValueError):
        catchment_label("A", "walk", 3, truncated=False)


# --------------------------------------------------------------------------- prospects


def test_breakdown_table_escapes_every_cell():
    out = breakdown_html(
        [
            {
                "name": "<b>x</b>",
                "value": 1.23456,
                "weight": 0.5,
                "points": 12.34,
                "reason": "a & b <script>",
            }
        ]
    )
    assert "<script>" not in out and "<b>x</b>" not in out
    parser = _Cells()
    parser.feed(out)
    assert parser.rows[0] == ["Component", "Value", "Weight", "Points", "Reason"]
    assert parser.rows[1] == ["<b>x</b>", "1.235", "0.50", "12.3", "a & b <script>"]


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "name": st.text(max_size=20),
                "reason": st.text(max_size=40),
                "points": st.floats(-100, 100, allow_nan=False),
                "weight": st.floats(0, 1),
            }
        ),
        min_size=1,
        max_size=5,
    )
)
def test_breakdown_roundtrips_arbitrary_text(components):
    parser = _Cells()
    parser.feed(breakdown_html(components))
    assert set(parser.tags) <= {"table", "tr", "th", "td"}
    body = parser.rows[1:]
    assert [r[0] for r in body] == [c["name"] for c in components]
    assert [r[4] for r in body] == [c["reason"] for c in components]


def test_breakdown_empty_and_invalid():
    assert breakdown_html(None) == "" and breakdown_html([]) == ""
    with pytest.raises(InputError) as info:
        breakdown_html("volume=3")
    assert info.value.problems[0].field == "components"
    with pytest.raises(InputError):
        breakdown_html([{"value": 3}])


def test_prospect_collection_popup_and_style():
    p = make_prospects(12)
    fc = prospect_collection(p, color=lambda s: f"#{int(s):06d}")
    assert len(fc["features"]) == 12
    first = fc["features"][0]["properties"]
    assert set(first) == {"tip", "popup", "style"}
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in first["popup"]
    assert "<script>" not in first["popup"] and "<script>" not in first["tip"]
    assert "referral_volume" in first["popup"] and "minutes &lt;= 10 to site" in first["popup"]
    assert "no drive time" in first["popup"]  # row 0 has NaN drive minutes
    assert first["style"]["fillColor"] == f"#{int(p.score.iloc[0]):06d}"


def test_prospect_collection_reports_all_bad_rows():
    p = make_prospects(6)
    p.loc[1, "score"] = 140.0
    p.loc[2, "score"] = np.nan
    p.loc[3, "drive_minutes"] = -1.0
    p["components"] = p["components"].astype(object)
    p.at[4, "components"] = "volume=3"
    with pytest.raises(InputError) as info:
        prospect_collection(p, color=_red)
    got = sorted((p.field, p.message.split(":")[0]) for p in info.value.problems)
    assert got == [
        ("components", "row 4"),
        ("drive_minutes", "row 3"),
        ("score", "row 1"),
        ("score", "row 2"),
    ]


@settings(max_examples=40)
@given(st.floats(-179.9, 179.9), st.floats(-85, 85))
def test_prospect_coordinates_rounded_to_six_decimals(lon, lat):
    p = make_prospects(1)
    p = p.set_geometry([Point(lon, lat)], crs=4326)
    x, y = prospect_collection(p, color=_red)["features"][0]["geometry"]["coordinates"]
    assert abs(x - lon) <= 5e-7 + 1e-12 and abs(y - lat) <= 5e-7 + 1e-12
    assert len(repr(x).split(".")[-1]) <= 6 and len(repr(y).split(".")[-1]) <= 6


# --------------------------------------------------------------------------- roads


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("primary", "primary"),
        ("primary_link", "primary"),
        (["residential", "service"], "residential"),
        (float("nan"), "other"),
        (None, "other"),
        ("footway", "other"),
        ([], "other"),
    ],
)
def test_road_class(value, expected):
    assert road_class(value) == expected


def test_road_collection_merges_by_class_and_drops_reverse_duplicates():
    a = LineString([(0, 0), (0.001, 0.001)])
    roads = gpd.GeoDataFrame(
        {"highway": ["residential", "residential", "primary", "residential"]},
        geometry=[
            a,
            a.reverse(),
            LineString([(0, 0), (0.002, 0)]),
            LineString([(0.001, 0.001), (0.002, 0.003)]),
        ],
        crs=4326,
    )
    fc = road_collection(roads)
    assert [f["properties"]["highway"] for f in fc["features"]] == ["residential", "primary"]
    resid = shapely.geometry.shape(fc["features"][0]["geometry"])
    # the two-way duplicate is gone and the touching segments are merged into one line
    assert resid.geom_type == "LineString"
    assert math.isclose(resid.length, a.length + 0.001 * math.sqrt(5), rel_tol=1e-6)
    assert (
        fc["features"][1]["properties"]["style"]["weight"]
        > fc["features"][0]["properties"]["style"]["weight"]
    )


def test_road_collection_on_real_osm(oakland_roads):
    fc = road_collection(oakland_roads)
    assert 1 <= len(fc["features"]) <= 10
    drawn = sum(shapely.geometry.shape(f["geometry"]).length for f in fc["features"])
    unique = shapely.normalize(oakland_roads.geometry.array)
    expected = sum(g.length for g in {g.wkb: g for g in unique}.values())
    assert math.isclose(drawn, expected, rel_tol=1e-3)


def test_road_collection_rejects_points():
    roads = gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[Point(0, 0)], crs=4326)
    with pytest.raises(InputError):
        road_collection(roads)
