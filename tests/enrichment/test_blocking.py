"""Block pair generation equals brute force; oversized blocks are skipped; focus filters."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from enrichment.blocking import all_pairs, combine_codes, star_pairs


def brute(codes, max_block, focus=None):
    out = set()
    sizes = {c: int((codes == c).sum()) for c in set(codes.tolist()) if c >= 0}
    for i, j in itertools.combinations(range(len(codes)), 2):
        same_block = codes[i] >= 0 and codes[i] == codes[j] and sizes[codes[i]] <= max_block
        if same_block and (focus is None or focus[i] or focus[j]):
            out.add((i, j))
    return out


@given(st.lists(st.integers(-1, 6), max_size=40), st.integers(2, 8), st.data())
@settings(max_examples=150, deadline=None)
def test_all_pairs_equals_brute_force(values, max_block, data):
    codes = np.array(values, dtype=np.int64)
    focus = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool
    )
    for f in (None, focus):
        left, right, _skipped = all_pairs(codes, max_block_size=max_block, focus=f)
        assert (left < right).all()
        assert set(zip(left.tolist(), right.tolist())) == brute(codes, max_block, f)
        assert len(left) == len(set(zip(left.tolist(), right.tolist())))


@given(st.lists(st.integers(-1, 5), max_size=40))
@settings(max_examples=100, deadline=None)
def test_star_pairs_connect_each_block(values):
    codes = np.array(values, dtype=np.int64)
    left, right = star_pairs(codes)
    blocks = {c for c in values if c >= 0}
    assert len(left) == sum(values.count(c) - 1 for c in blocks)
    assert all(codes[a] == codes[b] for a, b in zip(left, right))


def test_combine_codes_missing_part_is_missing():
    a = np.array([0, 0, 1, -1])
    b = np.array([2, 2, 2, 2])
    c = combine_codes([a, b])
    assert c[0] == c[1] != c[2] and c[3] == -1
