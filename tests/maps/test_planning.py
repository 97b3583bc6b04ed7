"""Planning overlays: validated input, flags in the labels, colours by site and liaison."""

from __future__ import annotations

import folium
import geopandas as gpd
import pytest
import shapely

from core.errors import InputError
from maps.planning import PALETTE, add_planning_layers, colour_for

SQ = shapely.box(-83.0, 39.9, -82.99, 39.91)


def test_colours_are_stable_and_cycle():
    assert colour_for(["b", "a", "b"]) == {"a": PALETTE[0], "b": PALETTE[1]}
    many = colour_for([f"k{i:02d}" for i in range(12)])
    assert many["k10"] == PALETTE[0]


def test_layers_carry_flags_and_escape_text():
    iso = gpd.GeoDataFrame(
        {
            "site_code": ["S<1>"],
            "minutes": [10.0],
            "label": ["S<1> · 10 min drive (truncated at network edge)"],
            "truncated": [True],
            "estimated": [False],
        },
        geometry=[SQ],
        crs=4326,
    )
    terr = gpd.GeoDataFrame(
        {"plan": ["p"], "version": [3], "liaison": ["Ana"], "load": [5.0], "share": [1.0]},
        geometry=[SQ],
        crs=4326,
    )
    cand = gpd.GeoDataFrame(
        {
            "scenario": ["s"],
            "label": ["x"],
            "chosen": [True],
            "white_space_providers": [12.0],
            "cannibalised_providers": [3.0],
            "estimated": [True],
            "truncated": [False],
        },
        geometry=[shapely.Point(-83, 39.9)],
        crs=4326,
    )
    m = add_planning_layers(folium.Map(), isochrones=iso, territories=terr, candidates=cand)
    folium.LayerControl().add_to(m)  # layer names appear in the control
    page = m.get_root().render()
    assert "Isochrones 10 min (some truncated at network edge)" in page
    # tooltips hold escaped HTML (folium writes "&" as \u0026 inside the JSON)
    assert "S\\u0026lt;1\\u0026gt;" in page and '"tip": "S<1>' not in page
    assert "Territories: p v3 (by liaison)" in page
    assert "estimated (straight line)" in page and "adds 12 white-space providers" in page
    assert "Candidate sites: s (size = added white space)" in page


def test_missing_columns_are_listed():
    bad = gpd.GeoDataFrame({"site_code": ["a"]}, geometry=[SQ], crs=4326)
    with pytest.raises(InputError) as e:
        add_planning_layers(folium.Map(), isochrones=bad)
    assert {p.field for p in e.value.problems} >= {"minutes", "label", "truncated", "estimated"}


def test_a_candidate_never_picked_says_why():
    cand = gpd.GeoDataFrame(
        {
            "scenario": ["s", "s"],
            "label": ["good", "twin"],
            "chosen": [True, False],
            "white_space_providers": [12.0, 0.0],
            "cannibalised_providers": [3.0, 9.0],
            "estimated": [False, False],
            "truncated": [False, False],
            "flag": [None, "adds nothing"],
        },
        geometry=[shapely.Point(-83, 39.9), shapely.Point(-83.01, 39.9)],
        crs=4326,
    )
    page = add_planning_layers(folium.Map(), candidates=cand).get_root().render()
    assert "twin: +0 (not picked: adds nothing)" in page
    assert "never picked (see its label)" in page
    assert 'good: +12"' in page and "good: +12 (not picked" not in page
