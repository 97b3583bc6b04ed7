"""Phone numbers read per country (libphonenumber through ``phonenumbers``), stored as E.164."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.country import display_phone, normalize_phone
from enrichment.arrow_text import normalize_phones


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("(614) 555-0100", "US", "+16145550100"),
        ("+1 614 555 0100 ext. 12", "US", "+16145550100"),
        ("1-614-555-0100", "US", "+16145550100"),
        ("614-155-0100", "US", None),  # an exchange starting with 1
        ("014-555-0100", "US", None),  # an area code starting with 0
        ("555-0100", "US", None),
        ("01 42 60 00 00", "FR", "+33142600000"),
        ("01.42.60.00.00", "FR", "+33142600000"),
        ("+33 1 42 60 00 00", "FR", "+33142600000"),
        ("0033 (0)1 42 60 00 00", "FR", "+33142600000"),
        ("+590 590 89 10 10", "FR", "+590590891010"),
        ("0262 12 34 56", "FR", "+262262123456"),  # La Réunion, written nationally
        ("+262 262 12 34 56", "FR", "+262262123456"),
        ("00 42 60 00 00", "FR", None),
        ("12345", "FR", None),
        ("+33 1 42 60 00 00", "US", "+33142600000"),  # international form: whatever the country
        ("01 42 60 00 00", "US", None),  # a French number read as a US one: refused
        ("01 42 60 00 00", None, None),  # unknown country, national form: cannot tell
        ("call me", "US", None),
        (None, "US", None),
    ],
)
def test_normalize_phone_reads_each_country_plan(raw, country, expected):
    assert normalize_phone(raw, country=country) == expected


@given(st.from_regex(r"0[1-5][0-9]{8}", fullmatch=True), st.sampled_from([" ", ".", "-", ""]))
def test_french_national_and_international_forms_agree(number, sep):
    spaced = sep.join(number[i : i + 2] for i in range(0, 10, 2))
    national = normalize_phone(spaced, country="FR")
    international = normalize_phone("+33 " + spaced[1:].lstrip(sep), country="FR")
    if international is not None:
        assert national == international == "+33" + number[1:]
    # a national number of an overseas department (0262 Reunion, 0269 Mayotte) has a country
    # code of its own: no +33 form, and it is stored under its own code
    if national is not None and not national.startswith("+33"):
        assert international is None and national.endswith(number[1:])


@given(
    st.from_regex(r"[2-9][0-9]{2}[2-9][0-9]{6}", fullmatch=True),
    st.sampled_from(["{a}{b}{c}", "({a}) {b}-{c}", "+1 {a} {b} {c}", "1-{a}-{b}-{c} x42"]),
)
def test_us_numbers_read_alike_in_any_style(digits, style):
    text = style.format(a=digits[:3], b=digits[3:6], c=digits[6:])
    got = normalize_phone(text, country="US")
    assert got is None or got == "+1" + digits
    assert got == normalize_phone(digits, country="US")


@given(
    st.lists(
        st.one_of(
            st.from_regex(r"\(?[0-9]{3}\)? ?[0-9]{3}-?[0-9]{4}( x[0-9]{1,3})?", fullmatch=True),
            st.from_regex(r"\+33 ?[1-9]( ?[0-9]{2}){4}", fullmatch=True),
            st.text(max_size=14),
            st.none(),
        ),
        min_size=1,
        max_size=30,
    ),
    st.lists(st.sampled_from(["US", "FR", "GB"]), min_size=30, max_size=30),
)
def test_the_column_reader_agrees_with_the_scalar_one(values, countries):
    countries = countries[: len(values)]
    column = pa.array([v.strip() or None if v is not None else None for v in values], pa.string())
    got = normalize_phones(column, pa.array(countries, pa.string())).to_pylist()
    assert got == [
        normalize_phone(v, country=c) for v, c in zip(column.to_pylist(), countries, strict=True)
    ]


def test_display_keeps_us_formatting():
    assert display_phone("+16145550100") == "(614) 555-0100"
    assert display_phone("6145550100") == "(614) 555-0100"  # stored before E.164
    assert display_phone("+33142600000") == "+33 1 42 60 00 00"
    assert display_phone(None) is None
