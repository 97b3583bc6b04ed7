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
import pyarrow as pa

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


def key_codes_of_array(keys: pa.Array) -> np.ndarray:
    """:func:`key_codes` of an Arrow string array (no nulls), vectorised when every key is
    digits of one length (e.g. NPIs); otherwise key by key."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    n = len(keys)
    if n and not keys.null_count and pa.types.is_string(keys.type):
        offsets = np.frombuffer(keys.buffers()[1], dtype=np.int32)[
            keys.offset : keys.offset + n + 1
        ]
        width = int(offsets[1] - offsets[0])
        if 0 < width <= _DIGIT_LIMIT and (np.diff(offsets) == width).all():
            digits = np.frombuffer(keys.buffers()[2], dtype=np.uint8)[
                offsets[0] : offsets[-1]
            ].reshape(n, width)
            if ((digits >= 0x30) & (digits <= 0x39)).all():  # ASCII digits only
                value = np.zeros(n, dtype=np.int64)
                for k in range(width):
                    value = value * 10 + (digits[:, k].astype(np.int64) - 0x30)
                return width * _SCALE + value
    return key_codes([str(k) for k in keys.to_pylist()])


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

    def add_new(self, keys: Sequence[str], codes: np.ndarray | None = None) -> np.ndarray:
        """Add keys; return a mask of those that are new (not seen before, nor earlier in ``keys``).

        ``codes`` are the keys' :func:`key_codes` when the caller has them already.
        """
        codes = key_codes(keys) if codes is None else np.asarray(codes, dtype=np.int64)
        if len(codes) != len(keys):
            raise ValueError(f"{len(codes)} codes for {len(keys)} keys")
        fresh = ~self.contains(codes)
        order = np.argsort(
            codes, kind="stable"
        )  # equal codes keep file order: the first comes first
        ordered = codes[order]
        first = np.ones(len(codes), dtype=bool)
        first[1:] = ordered[1:] != ordered[:-1]
        once = np.zeros(len(codes), dtype=bool)
        once[order[first]] = True
        fresh &= once
        self._push(ordered[first & fresh[order]])
        return fresh

    def _push(self, run: np.ndarray) -> None:
        if not len(run):
            return
        self.size += len(run)
        while self._runs and len(self._runs[-1]) <= 2 * len(run):
            run = np.sort(
                np.concatenate([self._runs.pop(), run]), kind="stable"
            )  # disjoint: no repeats
        self._runs.append(run)
