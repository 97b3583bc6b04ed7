"""National Provider Identifiers: the Luhn check digit and seeded unique draws.

An NPI is ten digits: nine identifier digits and a Luhn check digit computed,
as ISO/IEC 7812 prescribes for health identifiers, over the card-issuer prefix
``80840`` followed by the nine digits.  The prefix contributes a constant 24 to
the Luhn sum, so the check digit can be computed from the nine digits alone.

This module is deliberately local to :mod:`data.demo`: the layering forbids
``data`` from importing ``enrichment``, which owns the production validator.
"""

from __future__ import annotations

import numpy as np

__all__ = ["draw_npis", "is_valid_npi", "npi_check_digit"]

_PREFIX_SUM = 24  # Luhn contribution of the "80840" prefix


def npi_check_digit(first9: str) -> int:
    """Luhn check digit of an NPI, given its first nine digits.

    Parameters
    ----------
    first9
        The nine identifier digits, e.g. ``"123456789"``.

    Returns
    -------
    int
        The tenth digit, 0-9.  ``"123456789"`` gives 3 (NPI ``1234567893``).

    Raises
    ------
    TypeError
        If ``first9`` is not a string.
    ValueError
        If it is not exactly nine ASCII digits.
    """
    if not isinstance(first9, str):
        raise TypeError(f"first9 must be a str, not {type(first9).__name__}")
    if len(first9) != 9 or not first9.isascii() or not first9.isdigit():
        raise ValueError(f"first9 must be nine digits, got {first9!r}")
    total = _PREFIX_SUM
    # From the right, the 1st, 3rd, 5th... digit of the nine is doubled
    # (the check digit itself would be position 0).
    for i, ch in enumerate(reversed(first9)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def is_valid_npi(npi: str) -> bool:
    """Whether ``npi`` is ten digits starting with 1 or 2 with a correct check digit.

    Parameters
    ----------
    npi
        Candidate identifier.

    Returns
    -------
    bool
        ``False`` for anything that is not a well-formed NPI string.
    """
    if not isinstance(npi, str) or len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    if npi[0] not in "12":
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])


def _check_digits(first9: np.ndarray) -> np.ndarray:
    """Vectorised Luhn check digits for an integer array of nine-digit numbers."""
    total = np.full(first9.shape, _PREFIX_SUM, dtype=np.int64)
    rest = first9.astype(np.int64)
    for i in range(9):
        d = rest % 10
        rest //= 10
        if i % 2 == 0:
            d = d * 2
            d = np.where(d > 9, d - 9, d)
        total += d
    return (10 - total % 10) % 10


def draw_npis(rng: np.random.Generator, n: int, *, exclude: set[str] | None = None) -> list[str]:
    """Draw ``n`` distinct, Luhn-valid NPIs starting with 1.

    Parameters
    ----------
    rng
        Seeded generator; the same state gives the same NPIs.
    n
        How many to draw.
    exclude
        NPIs that must not be returned (already used ones).

    Returns
    -------
    list of str
        Ten-digit NPIs, in draw order (not sorted).
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    taken = set(exclude or ())
    out: list[str] = []
    while len(out) < n:
        need = n - len(out)
        # Nine digits starting with 1: 100000000 .. 199999999.
        base = rng.integers(100_000_000, 200_000_000, size=need + need // 8 + 8, dtype=np.int64)
        full = base * 10 + _check_digits(base)
        for value in full.tolist():
            s = str(value)
            if s not in taken:
                taken.add(s)
                out.append(s)
                if len(out) == n:
                    break
    return out
