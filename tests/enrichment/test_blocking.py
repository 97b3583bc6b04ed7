"""Block pair generation equals brute force; oversized blocks are skipped; focus filters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enrichment.blocking import Blocking, all_pairs, combine_codes, star_pairs


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


def _reference(features, settings, focus):
    """Every rule's pairs at once, the first rule finding a pair keeping it (a global set)."""
    from enrichment.blocking import _entity_mask

    found = []
    for r, rule in enumerate(settings.identifiers):
        mask = _entity_mask(features, rule.entity_types, unknown=len(rule.entity_types) == 2)
        left, right = star_pairs(np.where(mask, features[f"id_{rule.field}"].code, -1), focus=focus)
        found += [(a, b, r) for a, b in zip(left.tolist(), right.tolist())]
    for r, rule in enumerate(settings.blocking_rules, start=len(settings.identifiers)):
        mask = _entity_mask(features, rule.entity_types, unknown=False)
        parts = [np.where(mask, features.entity.astype(np.int64), -1)]
        parts += [features[key].code for key in rule.keys]
        left, right, _ = all_pairs(
            combine_codes(parts), max_block_size=rule.max_block_size, focus=focus
        )
        found += [(a, b, r) for a, b in zip(left.tolist(), right.tolist())]
    first: dict[tuple[int, int], int] = {}
    for a, b, r in found:
        first.setdefault((a, b), r)
    return first


@pytest.fixture(scope="module")
def generated():
    from bench.linkage_data import generate
    from enrichment.link_features import build_features
    from enrichment.link_settings import LinkSettings

    settings = LinkSettings.default()
    small = [r.model_copy(update={"max_block_size": 3}) for r in settings.blocking_rules]
    return build_features(generate(1_500, seed=3)), settings.model_copy(
        update={"blocking_rules": small[:2] + list(settings.blocking_rules[2:])}
    )


@pytest.mark.parametrize("chunk", [None, 1, 7, 1000])
@pytest.mark.parametrize("with_focus", [False, True])
def test_chunked_blocking_equals_one_global_deduplication(generated, chunk, with_focus):
    features, settings = generated
    focus = np.random.default_rng(2).random(features.n) < 0.05 if with_focus else None
    blocking = Blocking(features, settings, focus=focus)
    got: dict[tuple[int, int], int] = {}
    for part in blocking.chunks(chunk):
        assert chunk is None or len(part) <= chunk
        assert (part.left < part.right).all()
        for a, b, r in zip(part.left.tolist(), part.right.tolist(), part.rule.tolist()):
            assert (a, b) not in got  # each pair once, across rules and chunks
            got[a, b] = r
    want = _reference(features, settings, focus)
    assert len(want) > (100 if with_focus else 1_000) and len(set(want.values())) > 3
    assert got == want
    assert sum(blocking.skipped_blocks.values()) > 0
