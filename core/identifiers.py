"""Check digits of provider identifiers, shared by every reader and the demo generator.

One definition per identifier, each checked as its registry defines it:

* **NPI** (US): ten digits, the last a Luhn check digit computed (ISO/IEC 7812,
  as CMS prescribes) over the card-issuer prefix ``80840`` followed by the
  nine identifier digits.
* **RPPS** (France, practitioners): eleven digits, the last a Luhn key over
  the other ten. The Annuaire Santé's *Identification nationale PP* is the
  identifier type (``8`` for RPPS, ``0`` for ADELI) followed by the number.
* **FINESS** (France, establishments): nine characters, the department (two
  digits, or ``2A``/``2B`` for Corsica) first and a Luhn key last. The key of
  a Corsican number is computed on digits only by no published rule this
  project could confirm, so those are checked for their shape alone.
* **SIREN** (nine digits) and **SIRET** (fourteen: the SIREN and a
  five-digit establishment number): Luhn over all digits; La Poste's
  establishments (SIREN ``356000000``) other than its head office instead have
  a digit sum divisible by 5, as INSEE numbers them.
* **ADELI** (France, the older practitioner directory): nine characters (a
  department, then digits). Its key has no public definition this project
  could confirm, so only the shape is checked.

Any of them written in scientific notation (``9,999E+13``, ``1.23457E+09``)
was mangled by a spreadsheet that took it for a number: the digits it held are
lost, so :func:`identifier_fault` refuses it with words saying so, never a
guess at the original.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "NPI_PREFIX",
    "IdentifierKind",
    "identifier_fault",
    "luhn_npi_valid",
    "luhn_valid",
    "npi_check_digit",
    "spreadsheet_mangled",
]

NPI_PREFIX = "80840"

#: The identifiers :func:`identifier_fault` knows.
IdentifierKind = Literal["npi", "rpps", "adeli", "finess", "siren", "siret"]

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d*)?\s*[eE]\s*[+-]?\d+")
_FINESS = re.compile(r"(?:\d\d|2[AB])\d{7}")
_ADELI = re.compile(r"(?:\d\d|2[AB])\d{7}")
_LA_POSTE = "356000000"


def _luhn_sum(digits: str) -> int:
    total = 0
    # double every second digit counting from the right of the full number
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total


def _digits(value: str, size: int) -> bool:
    return len(value) == size and value.isascii() and value.isdigit()


def luhn_valid(digits: str) -> bool:
    """Whether ``digits`` (ASCII digits only) ends with a valid Luhn check digit.

    Examples
    --------
    >>> luhn_valid("732829320"), luhn_valid("732829321")
    (True, False)
    """
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    return _luhn_sum(digits) % 10 == 0


def npi_check_digit(first9: str) -> str:
    """The Luhn check digit of an NPI, computed over ``"80840" + first9``.

    Examples
    --------
    >>> npi_check_digit("123456789")
    '3'
    """
    if not _digits(first9, 9):
        raise ValueError(f"first9 must be exactly nine digits, got {first9!r}")
    return str((10 - _luhn_sum(NPI_PREFIX + first9 + "0") % 10) % 10)


def luhn_npi_valid(npi: str) -> bool:
    """Whether ``npi`` is ten ASCII digits with a valid check digit (80840 prefix)."""
    if not _digits(npi, 10):
        return False
    return _luhn_sum(NPI_PREFIX + npi) % 10 == 0


def spreadsheet_mangled(value: str) -> bool:
    """Whether ``value`` is a number in scientific notation (``9,999E+13``), as a spreadsheet writes one.

    Examples
    --------
    >>> spreadsheet_mangled("1.23457E+09"), spreadsheet_mangled("1234567893")
    (True, False)
    """
    return bool(_SCIENTIFIC.fullmatch(value.strip()))


def _siret_valid(siret: str) -> bool:
    if not _digits(siret, 14):
        return False
    if siret.startswith(_LA_POSTE) and sum(ord(c) - 48 for c in siret) % 5 == 0:
        return True  # La Poste's establishments: digit sum divisible by 5 (the head office: Luhn)
    return luhn_valid(siret)


def _shape_and_key(kind: IdentifierKind, value: str) -> str | None:
    """The fault of a value that is not in scientific notation, else ``None``."""
    if kind == "npi":
        if not _digits(value, 10):
            return "an NPI has exactly 10 digits"
        return None if luhn_npi_valid(value) else "NPI check digit is wrong"
    if kind == "rpps":
        if not _digits(value, 11):
            return "an RPPS number has exactly 11 digits"
        return None if luhn_valid(value) else "RPPS check digit (Luhn key) is wrong"
    if kind == "adeli":
        return None if _ADELI.fullmatch(value) else "an ADELI number has 9 characters"
    if kind == "finess":
        if not _FINESS.fullmatch(value):
            return "a FINESS number has 9 characters (digits; 2A/2B for Corsica)"
        corsican = not value[:2].isdigit()
        return None if corsican or luhn_valid(value) else "FINESS check digit (Luhn key) is wrong"
    if kind == "siren":
        if not _digits(value, 9):
            return "a SIREN number has exactly 9 digits"
        return None if luhn_valid(value) else "SIREN check digit (Luhn key) is wrong"
    if not _digits(value, 14):
        return "a SIRET number has exactly 14 digits"
    return None if _siret_valid(value) else "SIRET check digit (Luhn key) is wrong"


def identifier_fault(value: str, *, kind: IdentifierKind) -> str | None:
    """Why ``value`` is not a valid identifier of ``kind``, or ``None`` when it is one.

    Parameters
    ----------
    value
        The identifier as read (already stripped).
    kind
        Which identifier it is (see the module's docstring for each rule).

    Returns
    -------
    str or None
        A message naming the fault (scientific notation, shape, check digit).

    Examples
    --------
    >>> identifier_fault("1234567893", kind="npi") is None
    True
    >>> identifier_fault("1.23457E+09", kind="npi")
    'number mangled by a spreadsheet (scientific notation): the digits are lost; export the column as text'
    >>> identifier_fault("732829321", kind="siren")
    'SIREN check digit (Luhn key) is wrong'
    """
    if spreadsheet_mangled(value):
        return (
            "number mangled by a spreadsheet (scientific notation): the digits are lost; "
            "export the column as text"
        )
    return _shape_and_key(kind, value)
