"""Check digits of provider identifiers, shared by every reader and the demo generator.

An NPI is ten digits: nine identifier digits and a Luhn check digit computed
(ISO/IEC 7812, as CMS prescribes) over the card-issuer prefix ``80840``
followed by the nine digits.
"""

from __future__ import annotations

NPI_PREFIX = "80840"


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


def npi_check_digit(first9: str) -> str:
    """The Luhn check digit of an NPI, computed over ``"80840" + first9``.

    Examples
    --------
    >>> npi_check_digit("123456789")
    '3'
    """
    if len(first9) != 9 or not first9.isascii() or not first9.isdigit():
        raise ValueError(f"first9 must be exactly nine digits, got {first9!r}")
    return str((10 - _luhn_sum(NPI_PREFIX + first9 + "0") % 10) % 10)


def luhn_npi_valid(npi: str) -> bool:
    """Whether ``npi`` is ten ASCII digits with a valid check digit (80840 prefix)."""
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    return _luhn_sum(NPI_PREFIX + npi) % 10 == 0
