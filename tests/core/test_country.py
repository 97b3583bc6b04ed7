"""The one country rule and postal codes per country."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.country import country_code, normalize_postal_code, read_postal_codes, record_country


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("US", "US"),
        ("usa", "US"),
        ("United States", "US"),
        ("France", "FR"),
        ("UK", "GB"),
        ("United Kingdom", "GB"),
        ("Deutschland", "DE"),
        ("AUS", "AU"),
        ("nl", "NL"),
        ("Narnia", None),
        ("", None),
        (None, None),
    ],
)
def test_country_code(value, expected):
    assert country_code(value) == expected


def test_record_country_prefers_its_own_column():
    assert record_country("France", default="US") == "FR"
    assert record_country("", default="Australia") == "AU"
    assert record_country(None) is None


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("43215", "US", "43215"),
        ("43215-1234", "US", "43215"),
        ("432151234", "US", "43215"),
        ("4321", "US", None),
        ("75011", "FR", "75011"),
        ("7501", "FR", None),
        ("10115", "DE", "10115"),
        ("2000", "AU", "2000"),
        ("20000", "AU", None),
        ("k1a0b1", "CA", "K1A 0B1"),
        ("K1A 0B1", "CA", "K1A 0B1"),
        ("sw1a1aa", "GB", "SW1A 1AA"),
        ("EC1A 1BB", "GB", "EC1A 1BB"),
        ("M1 1AE", "GB", "M1 1AE"),
        ("12345", "GB", None),
        ("1234 ab", "NL", "1234 AB"),  # not normalised per country: kept as given
        ("2000", None, "2000"),  # unknown country: a 4-digit code does not vanish
        ("43215-1234", None, "43215"),
        ("", "US", None),
    ],
)
def test_normalize_postal_code(raw, country, expected):
    assert normalize_postal_code(raw, country=country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("2134", "US", "02134"),
        ("1067", "DE", "01067"),
        ("800", "AU", "0800"),
        ("1000", "FR", "01000"),
    ],
)
def test_spreadsheet_dropped_zeros_restored_on_request(raw, country, expected):
    assert normalize_postal_code(raw, country=country, pad_short=True) == expected
    assert normalize_postal_code(raw, country=country) is None


@given(st.sampled_from(["US", "FR", "DE", "AU", "CA", "GB", None]), st.text(max_size=12))
def test_normalised_codes_are_fixed_points(country, raw):
    code = normalize_postal_code(raw, country=country)
    if code is not None:
        assert normalize_postal_code(code, country=country) == code


def test_read_postal_codes_counts_what_it_cannot_read():
    read = read_postal_codes(
        ["43215", "2000", "SW1A 1AA", "75011", None],
        ["US", "Australia", "", "FR", "US"],
        default="GB",
    )
    assert read.values == ["43215", "2000", "SW1A 1AA", "75011", None]
    assert read.unreadable == 0
    bad = read_postal_codes(["2000", "43215", "2000"], default="US")
    assert bad.values == [None, "43215", None]
    assert (bad.unreadable, bad.examples) == (2, ("2000",))


def test_unreadable_codes_can_be_kept_as_written_for_matching():
    read = read_postal_codes(["b1z 0c5", "43215"], ["GB", "US"], keep_unreadable=True)
    assert read.values == ["B1Z 0C5", "43215"]
    assert (read.unreadable, read.examples) == (1, ("b1z 0c5",))
