"""A compact set of record keys seen so far in a file (8 bytes per key).

A 9-million-row registry file must be checked for repeated keys without a
Python set of 9 million strings (about 700 MB). Keys become 64-bit integers:
a key of up to 17 ASCII digits exactly (its value and its length, so ``"0123"``
and ``"123"`` differ), any other key by a 63-bit BLAKE2b hash (a collision
between two such keys has probability about ``n**2 / 2**64``). The integers
are kept in sorted NumPy runs merged like a log-structured tree, so adding and
testing ``n`` keys costs ``O(n log n)`` in all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

_DIGIT_LIMIT = 17
_SCALE = 10**_DIGIT_LIMIT


def key_codes(keys: Sequence[str]) -> np.ndarray:
    """The 64-bit code of each key (see the module docstring)."""
    out = np.empty(len(keys), dtype=np.int64)
    for i, key in enumerate(keys):
        if 0 < len(key) <= _DIGIT_LIMIT and key.isascii() and key.isdigit():
            out[i] = len(key) * _SCALE + int(key)
        else:
            digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
            out[i] = -1 - (int.from_bytes(digest, "big") >> 1)  # negative: never a digit code
    return out


class KeySet:
    """Keys seen so far; :meth:`add_new` keeps the first occurrence of each."""

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self.size = 0

    def contains(self, codes: np.ndarray) -> np.ndarray:
        """Whether each code is already in the set."""
        found = np.zeros(len(codes), dtype=bool)
        for run in self._runs:
            pos = np.searchsorted(run, codes)
            pos[pos == len(run)] = 0
            found |= run[pos] == codes
        return found

    def add_new(self, keys: Sequence[str]) -> np.ndarray:
        """Add keys; return a mask of those that are new (not seen before, nor earlier in ``keys``)."""
        codes = key_codes(keys)
        fresh = ~self.contains(codes)
        _, first = np.unique(codes, return_index=True)
        once = np.zeros(len(codes), dtype=bool)
        once[first] = True
        fresh &= once
        self._push(np.sort(codes[fresh]))
        return fresh

    def _push(self, run: np.ndarray) -> None:
        if not len(run):
            return
        self.size += len(run)
        while self._runs and len(self._runs[-1]) <= 2 * len(run):
            run = np.union1d(self._runs.pop(), run)
        self._runs.append(run)
