from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import GeoError
from core.text import normalize_street, split_address
from geo.distance import haversine_km
from geo.geocode import StreetIndex, geocode_frame, zip_centroid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("North High Street", "N HIGH ST"),
        ("N. High St.", "N HIGH ST"),
        ("n high st", "N HIGH ST"),
        ("High Street North", "HIGH ST N"),
        ("North Street", "NORTH ST"),
        ("St Clair Avenue", "ST CLAIR AVE"),
        ("West Broad Street", "W BROAD ST"),
        ("E. Livingston Ave", "E LIVINGSTON AVE"),
        ("Olentangy River Road", "OLENTANGY RIVER RD"),
        ("Martin Luther King Jr. Boulevard", "MARTIN LUTHER KING JR BLVD"),
        ("Riverside Dr", "RIVERSIDE DR"),
        ("Cherry Lane", "CHERRY LN"),
        ("Dublin Court", "DUBLIN CT"),
        ("Hamilton Place", "HAMILTON PL"),
        ("Sawmill Parkway", "SAWMILL PKWY"),
        ("State Highway 315", "STATE HIGHWAY 315"),
        ("Lincoln Highway", "LINCOLN HWY"),
        ("O'Brien Rd", "OBRIEN RD"),
        ("Avenida Convención de 1914 Oriente", "AVENIDA CONVENCION DE 1914 ORIENTE"),
        ("  ", ""),
        ("Southwest Boulevard Northeast", "SOUTHWEST BLVD NE"),
        ("North Southwest Boulevard", "N SOUTHWEST BLVD"),
    ],
)
def test_normalize_street_known_answers(raw, expected):
    assert normalize_street(raw) == expected


def test_normalize_matches_usps_and_osm_forms():
    number, street = split_address("1234 N. High St")
    assert number == 1234
    assert normalize_street(street) == normalize_street("North High Street")


@given(st.text(max_size=40))
def test_normalize_street_idempotent(text):
    once = normalize_street(text)
    assert normalize_street(once) == once
    assert once == once.strip() and "  " not in once


@given(
    st.lists(
        st.sampled_from(["north", "N", "High", "street", "ST", "Ave", "east", "Road", "1st", "."]),
        max_size=6,
    )
)
def test_normalize_street_idempotent_on_street_words(words):
    once = normalize_street(" ".join(words))
    assert normalize_street(once) == once


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1234 N High St", (1234, "N High St")),
        ("1234-B N High St", (1234, "N High St")),
        ("1234B Main St Ste 200", (1234, "Main St")),
        ("55 E Main St, Suite 4", (55, "E Main St")),
        ("10 Elm Ave #5", (10, "Elm Ave")),
        ("10 Elm Ave Apt. 3", (10, "Elm Ave")),
        ("1234 1/2 Oak Ln", (1234, "Oak Ln")),
        ("1234-1240 Broad St", (1234, "Broad St")),
        ("12 34th St", (12, "34th St")),
        ("Main St", (None, "Main St")),
        ("PO BOX 123", (None, "PO BOX 123")),
        ("  500  W  5TH AVE  FL 2 ", (500, "W 5TH AVE")),
        ("", (None, "")),
    ],
)
def test_split_address(line, expected):
    assert split_address(line) == expected


def test_zip_centroid():
    lat, lon = zip_centroid("43215")
    assert lat == pytest.approx(39.967, abs=0.01) and lon == pytest.approx(-83.004, abs=0.01)
    assert zip_centroid("43215-1234") == zip_centroid("432151234") == (lat, lon)
    assert zip_centroid("2134") == zip_centroid("02134") is not None
    assert zip_centroid("00000") is None
    assert zip_centroid("abc") is None


@pytest.fixture(scope="module")
def agua_index(aguascalientes):
    return StreetIndex.from_graph(aguascalientes)


@pytest.fixture(scope="module")
def named_edges(aguascalientes):
    out = []
    for u, v, d in aguascalientes.edges(data=True):
        if isinstance(d.get("name"), str) and d.get("length", 0) > 20:
            geom = d.get("geometry") or shapely.LineString(
                [(aguascalientes.nodes[n]["x"], aguascalientes.nodes[n]["y"]) for n in (u, v)]
            )
            out.append((d["name"], geom))
    return out


def test_index_streets(agua_index):
    streets = agua_index.streets()
    assert "Avenida Paseo de la Cruz" in streets
    assert streets == sorted(streets)
    assert "avenida paseo de la cruz" in agua_index
    assert "Nowhere Boulevard" not in agua_index
    assert agua_index.locate("Nowhere Boulevard", 100) is None


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_address_round_trip(agua_index, named_edges, data):
    name, geom = data.draw(st.sampled_from(named_edges))
    frac = data.draw(st.floats(0.0, 1.0))
    pt = geom.interpolate(frac, normalized=True)
    lat, lon = pt.y, pt.x
    number, street = agua_index.address_for(lat, lon, street=name)
    assert normalize_street(street) == normalize_street(name)
    assert number >= 100
    back = agua_index.locate(street, number, near=(lat, lon))
    assert haversine_km(lat, lon, *back)[0] * 1000 < 15
    # without naming the street: the nearest street's address also leads back
    number2, street2 = agua_index.address_for(lat, lon)
    back2 = agua_index.locate(street2, number2, near=(lat, lon))
    assert haversine_km(lat, lon, *back2)[0] * 1000 < 15


def test_numbers_grow_along_piece_and_sides_differ(agua_index, named_edges):
    name, geom = max(named_edges, key=lambda e: e[1].length)
    a = geom.interpolate(0.2, normalized=True)
    b = geom.interpolate(0.8, normalized=True)
    na, _ = agua_index.address_for(a.y, a.x, street=name)
    nb, _ = agua_index.address_for(b.y, b.x, street=name)
    assert na != nb
    # a point 8 m either side of the street centreline gets opposite parity
    mid = geom.interpolate(0.5, normalized=True)
    nxt = geom.interpolate(0.5 + 1e-3, normalized=True)
    dx, dy = nxt.x - mid.x, nxt.y - mid.y
    norm = np.hypot(dx, dy)
    off = 8 / 111_000
    left = agua_index.address_for(mid.y + dx / norm * off, mid.x - dy / norm * off, street=name)[0]
    right = agua_index.address_for(mid.y - dx / norm * off, mid.x + dy / norm * off, street=name)[0]
    assert left % 2 != right % 2


def test_locate_clamps_and_midpoint(agua_index):
    street = "Avenida Paseo de la Cruz"
    low = agua_index.locate(street, 1)
    first = agua_index.locate(street, 100)
    assert haversine_km(*low, *first)[0] * 1000 < 6
    huge = agua_index.locate(street, 10**7)
    mid = agua_index.locate(street, None)
    assert huge != mid and haversine_km(*huge, *mid)[0] > 0.05


def test_address_for_unknown_street(agua_index):
    with pytest.raises(GeoError):
        agua_index.address_for(21.87, -102.27, street="Nowhere Boulevard")


@pytest.fixture(scope="module")
def oakland_index(west_oakland):
    return StreetIndex.from_graph(west_oakland)


def test_geocode_frame_precisions(oakland_index):
    df = pd.DataFrame(
        {
            "npi": [1, 2, 3, 4, 5, 6],
            "address_1": [
                "820 7th St",
                "900 Wood Street Suite 3",
                "1 Unknown Way",
                "820 7th St",
                "",
                "820 7TH ST",
            ],
            "postal_code": ["946071234", "94607", "94607", "99999", None, "10001"],
        }
    )
    out = geocode_frame(df, oakland_index)
    assert list(out["npi"]) == [1, 2, 3, 4, 5, 6]
    assert list(out["geocode_precision"]) == ["street", "street", "zip", "none", "none", "zip"]
    assert out["lat"].dtype == np.float64
    c = zip_centroid("94607")
    assert (out.loc[0, "lat"], out.loc[0, "lon"]) != c
    assert haversine_km(out.loc[0, "lat"], out.loc[0, "lon"], *c)[0] < 3
    assert (out.loc[2, "lat"], out.loc[2, "lon"]) == c
    assert np.isnan(out.loc[3, "lat"]) and np.isnan(out.loc[4, "lat"])
    assert "not in road network" in out.loc[2, "geocode_note"]
    # namesake street far from the ZIP (7th St exists in New York too): ZIP, not street
    assert "km from ZIP" in out.loc[5, "geocode_note"]
    assert "address_1" in df.columns and "lat" not in df.columns  # input untouched


def test_geocode_frame_without_index_and_errors():
    df = pd.DataFrame({"address_1": ["820 7th St"], "postal_code": ["94607"]})
    out = geocode_frame(df, None)
    assert (
        out.loc[0, "geocode_precision"] == "zip" and out.loc[0, "geocode_note"] == "no street index"
    )
    with pytest.raises(KeyError):
        geocode_frame(df, None, zip_col="zip")


def test_geocode_frame_places_thousands_of_rows(oakland_index):
    """Many rows in one call (how long it takes is measured by bench.units)."""
    n = 5000
    df = pd.DataFrame(
        {
            "address_1": [f"{100 + i % 900} {'7th' if i % 2 else 'Wood'} St" for i in range(n)],
            "postal_code": ["94607"] * n,
        }
    )
    out = geocode_frame(df, oakland_index)
    assert (out["geocode_precision"] == "street").all()
