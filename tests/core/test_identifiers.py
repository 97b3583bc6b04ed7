"""Check digits of every identifier the readers check (core.identifiers), one definition each."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.identifiers import (
    identifier_fault,
    luhn_npi_valid,
    luhn_valid,
    npi_check_digit,
    spreadsheet_mangled,
)


def _luhn_key(body: str) -> str:
    return next(d for d in "0123456789" if luhn_valid(body + d))


def _one_digit_changed(number: str, data: st.DataObject) -> str:
    at = data.draw(st.integers(0, len(number) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != number[at]]))
    return number[:at] + digit + number[at + 1 :]


_nine = st.from_regex(r"[0-9]{9}", fullmatch=True)


@given(_nine, st.data())
def test_a_valid_npi_with_one_digit_changed_fails(first9, data):
    npi = first9 + npi_check_digit(first9)
    assert luhn_npi_valid(npi) and identifier_fault(npi, kind="npi") is None
    assert not luhn_npi_valid(_one_digit_changed(npi, data))
    assert identifier_fault(_one_digit_changed(npi, data), kind="npi") == "NPI check digit is wrong"


@given(st.from_regex(r"1[0-9]{9}", fullmatch=True), st.data())
def test_rpps_numbers_carry_a_luhn_key(body, data):
    rpps = body + _luhn_key(body)
    assert identifier_fault(rpps, kind="rpps") is None
    assert "RPPS check digit" in identifier_fault(_one_digit_changed(rpps, data), kind="rpps")


@given(st.from_regex(r"[0-9]{8}", fullmatch=True), st.data())
def test_siren_and_siret_carry_a_luhn_key(body, data):
    assume(not body.startswith("35600000"))  # La Poste's numbers follow their own rule
    siren = body + _luhn_key(body)
    siret_body = siren + data.draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    siret = siret_body + _luhn_key(siret_body)
    assert identifier_fault(siren, kind="siren") is None
    assert identifier_fault(siret, kind="siret") is None
    assert "SIREN check digit" in identifier_fault(_one_digit_changed(siren, data), kind="siren")
    assert "SIRET check digit" in identifier_fault(_one_digit_changed(siret, data), kind="siret")


def test_la_poste_establishments_sum_to_a_multiple_of_five():
    # INSEE's exception: La Poste (SIREN 356000000) numbers its establishments by digit sum
    assert identifier_fault("35600000000048", kind="siret") is None  # the head office: Luhn
    assert identifier_fault("35600000000051", kind="siret") is None  # digits sum to 20
    assert identifier_fault("35600000000052", kind="siret") is not None


@given(st.from_regex(r"(0[1-9]|[1-8][0-9]|9[0-5])[0-9]{6}", fullmatch=True), st.data())
def test_finess_numbers_carry_a_luhn_key(body, data):
    finess = body + _luhn_key(body)
    assert identifier_fault(finess, kind="finess") is None
    changed = _one_digit_changed(finess, data)
    assert "FINESS check digit" in identifier_fault(changed, kind="finess")


@pytest.mark.parametrize(
    ("value", "kind", "fault"),
    [
        ("010780054", "finess", None),  # CH de Bourg-en-Bresse (legal entity)
        ("750712184", "finess", None),  # AP-HP (legal entity)
        ("2A0000014", "finess", None),  # Corsica: shape only
        ("2C0000014", "finess", "a FINESS number has 9 characters (digits; 2A/2B for Corsica)"),
        ("01078005", "finess", "a FINESS number has 9 characters (digits; 2A/2B for Corsica)"),
        ("751234567", "adeli", None),  # shape only
        ("75123456", "adeli", "an ADELI number has 9 characters"),
        ("123456789", "npi", "an NPI has exactly 10 digits"),
        ("1234567893", "npi", None),
    ],
)
def test_known_answers(value, kind, fault):
    assert identifier_fault(value, kind=kind) == fault


@pytest.mark.parametrize("value", ["9,999E+13", "1.23457E+09", "1.23E+9", "8.1e+11", "1E10"])
@pytest.mark.parametrize("kind", ["npi", "rpps", "finess", "siret", "siren", "adeli"])
def test_a_spreadsheet_mangled_identifier_is_refused_as_such(value, kind):
    assert spreadsheet_mangled(value)
    assert identifier_fault(value, kind=kind).startswith("number mangled by a spreadsheet")


@given(st.integers(10**8, 10**14))
def test_plain_digits_are_never_taken_for_scientific_notation(number):
    assert not spreadsheet_mangled(str(number))
