"""Splitting long sequences into bounded pieces (bound parameters, bulk statements)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of ``items`` of at most ``size`` elements.

    Examples
    --------
    >>> [list(p) for p in chunked([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    if size < 1:
        raise ValueError("size must be positive")
    for i in range(0, len(items), size):
        yield items[i : i + size]
