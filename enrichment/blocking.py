"""Candidate pairs: exact-identifier links, then blocking rules, all on integer arrays.

A blocking rule's keys are combined into one integer block code per record
(records missing a key, or of an entity type the rule does not cover, have
none); the pairs of each block are generated with ``numpy.repeat`` arithmetic,
not Python loops. Blocks larger than the rule's ``max_block_size`` are skipped
and counted (a hospital switchboard shared by 2,000 doctors says nothing), so
the number of pairs a rule yields is bounded by ``n * max_block_size / 2``.
Exact identifiers link every record of an identifier block to its first
record (a star: ``n - 1`` pairs, enough for clustering, for any block size).

With ``focus`` (incremental linking) only blocks holding a focus record are
expanded and only pairs touching one are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from enrichment.link_features import ENTITY_CODES, Features
from enrichment.link_settings import LinkSettings


@dataclass(frozen=True)
class Candidates:
    """Distinct candidate pairs ``left < right`` (record positions) and the rule that found each."""

    left: np.ndarray
    right: np.ndarray
    rule: np.ndarray  # int16 index into ``rule_names``
    rule_names: tuple[str, ...]
    skipped_blocks: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.left)


def combine_codes(parts: list[np.ndarray]) -> np.ndarray:
    """One int64 code per row for a tuple of int codes; ``-1`` where any part is ``-1``."""
    code = parts[0].astype(np.int64)
    missing = code < 0
    for part in parts[1:]:
        missing |= part < 0
        code = code * (int(part.max(initial=0)) + 1) + np.maximum(part, 0)
        code, _ = pd.factorize(code)  # keep codes dense so products never overflow
    return np.where(missing, -1, code).astype(np.int64)


def _blocks(
    codes: np.ndarray, focus: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Record positions sorted by block, block starts and sizes (blocks of >= 2 only)."""
    idx = np.flatnonzero(codes >= 0)
    c = codes[idx]
    order = np.argsort(c, kind="stable")
    idx, c = idx[order], c[order]
    if len(c) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    sizes = np.diff(np.r_[starts, len(c)])
    keep = sizes >= 2
    if focus is not None:
        has_focus = np.add.reduceat(focus[idx].astype(np.int64), starts) > 0
        keep &= has_focus
    return idx, starts[keep], sizes[keep]


def all_pairs(
    codes: np.ndarray, *, max_block_size: int, focus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Every pair within each block of at most ``max_block_size`` records.

    Returns
    -------
    left, right, skipped
        Positions with ``left < right``, and the number of oversized blocks skipped.
    """
    idx, starts, sizes = _blocks(codes, focus)
    big = sizes > max_block_size
    starts, sizes = starts[~big], sizes[~big]
    # member j of a block of size s pairs with the s - 1 - j members after it
    member_start = np.repeat(starts, sizes)
    offset = np.arange(len(member_start)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    counts = np.repeat(sizes, sizes) - 1 - offset
    first = member_start + offset
    left_pos = np.repeat(first, counts)
    step = np.arange(len(left_pos)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    a, b = idx[left_pos], idx[left_pos + step]
    left, right = np.minimum(a, b), np.maximum(a, b)
    if focus is not None:
        keep = focus[left] | focus[right]
        left, right = left[keep], right[keep]
    return left, right, int(big.sum())


def star_pairs(
    codes: np.ndarray, *, focus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each block's first record paired with each other member (``left < right``)."""
    idx, starts, sizes = _blocks(codes, focus)
    offset = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    position = np.repeat(starts, sizes) + offset
    head = np.repeat(idx[starts], sizes)
    keep = offset > 0
    a, b = head[keep], idx[position[keep]]
    return np.minimum(a, b), np.maximum(a, b)


def _entity_mask(features: Features, entity_types: tuple[str, ...], *, unknown: bool) -> np.ndarray:
    mask = np.isin(features.entity, [ENTITY_CODES[e] for e in entity_types])
    if unknown:
        mask |= features.entity < 0
    return mask


def candidate_pairs(
    features: Features, settings: LinkSettings, *, focus: np.ndarray | None = None
) -> Candidates:
    """Identifier pairs first, then each blocking rule's pairs; the first rule finding a pair names it."""
    lefts, rights, rules, names = [], [], [], []
    skipped: dict[str, int] = {}
    for rule in settings.identifiers:
        both = len(rule.entity_types) == 2
        mask = _entity_mask(features, rule.entity_types, unknown=both)
        codes = np.where(mask, features[f"id_{rule.field}"].code, -1)
        left, right = star_pairs(codes, focus=focus)
        lefts.append(left), rights.append(right), names.append(rule.name)
        rules.append(np.full(len(left), len(names) - 1, dtype=np.int16))
    for rule in settings.blocking_rules:
        mask = _entity_mask(features, rule.entity_types, unknown=False)
        parts = [np.where(mask, features.entity.astype(np.int64), -1)]
        parts += [features[key].code for key in rule.keys]
        left, right, big = all_pairs(
            combine_codes(parts), max_block_size=rule.max_block_size, focus=focus
        )
        skipped[rule.name] = big
        lefts.append(left), rights.append(right), names.append(rule.name)
        rules.append(np.full(len(left), len(names) - 1, dtype=np.int16))
    left = np.concatenate(lefts) if lefts else np.zeros(0, dtype=np.int64)
    right = np.concatenate(rights) if rights else np.zeros(0, dtype=np.int64)
    rule = np.concatenate(rules) if rules else np.zeros(0, dtype=np.int16)
    key = left.astype(np.int64) * max(features.n, 1) + right
    first = ~pd.Series(key).duplicated().to_numpy()
    left, right, rule, key = left[first], right[first], rule[first], key[first]
    order = np.argsort(key, kind="stable")
    return Candidates(
        left=left[order],
        right=right[order],
        rule=rule[order],
        rule_names=tuple(names),
        skipped_blocks=skipped,
    )
