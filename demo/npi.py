"""National Provider Identifiers: the Luhn check digit and seeded unique draws.

An NPI is ten digits: nine identifier digits and a Luhn check digit computed,
as ISO/IEC 7812 prescribes for health identifiers, over the card-issuer prefix
``80840`` followed by the nine digits.  The prefix contributes a constant 24 to
the Luhn sum, so the check digit can be computed from the nine digits alone.

The scalar check lives in :mod:`core.identifiers`; this module adds the
vectorised form used to draw many NPIs at once.
"""

from __future__ import annotations

import numpy as np

from core.checks import whole_number
from core.errors import InputError, Problem

__all__ = ["draw_npis"]

_PREFIX_SUM = 24  # Luhn contribution of the "80840" prefix


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


def draw_npis(
    rng: np.random.Generator,
    n: int,
    *,
    exclude: set[str] | None = None,
    lane: int = 0,
    lanes: int = 1,
) -> list[str]:
    """Draw ``n`` distinct, Luhn-valid NPIs starting with 1.

    Parameters
    ----------
    rng
        Seeded generator; the same state gives the same NPIs.
    n
        How many to draw.
    exclude
        NPIs that must not be returned (already used ones).
    lane, lanes
        Draw only identifiers whose nine digits are ``lane`` modulo ``lanes``:
        draws in different lanes never collide, so independent blocks of a
        large file need no shared set of the NPIs already used.

    Returns
    -------
    list of str
        Ten-digit NPIs, in draw order (not sorted).
    """
    problems: list[Problem] = []
    whole_number(n, field="n", problems=problems, ge=0)
    whole_number(lanes, field="lanes", problems=problems, ge=1, le=100_000)
    if not problems:
        whole_number(lane, field="lane", problems=problems, ge=0, le=lanes - 1)
    if problems:
        raise InputError("invalid NPI draw arguments", problems=problems)
    taken = set(exclude or ())
    out: list[str] = []
    while len(out) < n:
        need = n - len(out)
        # Nine digits starting with 1: 100000000 .. 199999999.
        slot = rng.integers(0, 100_000_000 // lanes, size=need + need // 8 + 8, dtype=np.int64)
        base = 100_000_000 + slot * lanes + lane
        full = base * 10 + _check_digits(base)
        for value in full.tolist():
            s = str(value)
            if s not in taken:
                taken.add(s)
                out.append(s)
                if len(out) == n:
                    break
    return out
