"""Candidate pairs: exact-identifier links, then blocking rules, all on integer arrays.

A blocking rule's keys are combined into one integer block code per record
(records missing a key, or of an entity type the rule does not cover, have
none); the pairs of each block are generated with ``numpy.repeat`` arithmetic,
not Python loops. Blocks larger than the rule's ``max_block_size`` are skipped
and counted (a hospital switchboard shared by 2,000 doctors says nothing), so
the number of pairs a rule yields is bounded by ``n * max_block_size / 2``.
Exact identifiers link every record of an identifier block to its first
record (a star: ``n - 1`` pairs, enough for clustering, for any block size).

Pairs are generated rule by rule and block by block, at most ``chunk`` at a
time (:meth:`Blocking.chunks`), so memory is set by the chunk and the per
record codes, never by the number of pairs. A pair belongs to the first rule
that finds it: a later rule skips a pair an earlier rule also yields, which is
decided from the two records' codes for the earlier rule (same usable block,
and for a star the left record heads it) with no set of the pairs seen.

With ``focus`` (incremental linking) only blocks holding a focus record are
expanded and only pairs touching one are kept (a star keeps all of its block's
pairs: a focus record's cluster needs the whole identifier block).
"""

from __future__ import annotations

from collections.abc import Iterator
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


@dataclass(frozen=True)
class _RulePairs:
    """One rule's blocks, ready to yield their pairs by range of pair number.

    ``idx`` holds the record positions of the expanded blocks, sorted by block
    (then position); ``code`` is each record's block code where its block is
    expanded, else ``-1`` (what a later rule checks a pair against).
    """

    star: bool
    idx: np.ndarray
    code: np.ndarray
    head: np.ndarray  # per record: first (lowest) position of its expanded block
    member: np.ndarray  # position in ``idx`` of each left member yielding pairs
    ends: np.ndarray  # cumulative pair count up to and including each member
    skipped: int

    @property
    def total(self) -> int:
        return int(self.ends[-1]) if len(self.ends) else 0

    def pairs(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Pairs number ``start`` to ``stop - 1`` of this rule, ``left < right``."""
        p = np.arange(start, stop, dtype=np.int64)
        k = np.searchsorted(self.ends, p, side="right")
        before = np.where(k > 0, self.ends[np.maximum(k - 1, 0)], 0)
        step = p - before + 1
        pos = self.member[k]
        if self.star:  # member k is the (k)th non-head; its head starts the block
            a, b = self.head[self.idx[pos]], self.idx[pos]
        else:
            a, b = self.idx[pos], self.idx[pos + step]
        return np.minimum(a, b), np.maximum(a, b)

    def finds(self, left: np.ndarray, right: np.ndarray, focus: np.ndarray | None) -> np.ndarray:
        """Per pair: whether this rule yields it too."""
        c = self.code[left]
        same = (c >= 0) & (c == self.code[right])
        if self.star:
            return same & (self.head[left] == left)
        if focus is not None:
            same &= focus[left] | focus[right]
        return same


def _rule_pairs(
    codes: np.ndarray, *, max_block_size: int | None, focus: np.ndarray | None, star: bool
) -> _RulePairs:
    n = len(codes)
    idx = np.flatnonzero(codes >= 0)
    c = codes[idx]
    order = np.argsort(c, kind="stable")
    idx, c = idx[order], c[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]]) if len(c) else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, len(c)]).astype(np.int64)
    keep = sizes >= 2
    if focus is not None and len(c):
        keep &= np.add.reduceat(focus[idx].astype(np.int64), starts) > 0
    big = keep & (sizes > max_block_size) if max_block_size is not None else keep & False
    keep &= ~big
    in_block = np.repeat(keep, sizes)
    block_start = np.repeat(starts, sizes)
    # per record and per rule: int32 (dense codes and positions stay below 2**31 records)
    code = np.full(n, -1, dtype=np.int32)
    code[idx[in_block]] = c[in_block]
    head = np.full(n, -1, dtype=np.int32)
    head[idx] = idx[block_start]
    offset = np.arange(len(idx)) - block_start
    if star:  # every member but the head pairs with it once
        yields = np.where(in_block & (offset > 0), 1, 0)
    else:  # member j of a block of size s pairs with the s - 1 - j members after it
        yields = np.where(in_block, np.repeat(sizes, sizes) - 1 - offset, 0)
    member = np.flatnonzero(yields > 0)
    return _RulePairs(
        star=star,
        idx=idx,
        code=code,
        head=head,
        member=member,
        ends=np.cumsum(yields[member]),
        skipped=int(big.sum()),
    )


def all_pairs(
    codes: np.ndarray, *, max_block_size: int, focus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Every pair within each block of at most ``max_block_size`` records.

    Returns
    -------
    left, right, skipped
        Positions with ``left < right``, and the number of oversized blocks skipped.
    """
    rp = _rule_pairs(codes, max_block_size=max_block_size, focus=focus, star=False)
    left, right = rp.pairs(0, rp.total)
    if focus is not None:
        keep = focus[left] | focus[right]
        left, right = left[keep], right[keep]
    return left, right, rp.skipped


def star_pairs(
    codes: np.ndarray, *, focus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each block's first record paired with each other member (``left < right``)."""
    rp = _rule_pairs(codes, max_block_size=None, focus=focus, star=True)
    return rp.pairs(0, rp.total)


def _entity_mask(features: Features, entity_types: tuple[str, ...], *, unknown: bool) -> np.ndarray:
    mask = np.isin(features.entity, [ENTITY_CODES[e] for e in entity_types])
    if unknown:
        mask |= features.entity < 0
    return mask


class Blocking:
    """The identifier and blocking rules of ``settings`` prepared over ``features``.

    Holds a few integers per record and rule; :meth:`chunks` yields the
    distinct candidate pairs, each named by the first rule that finds it.
    """

    def __init__(
        self, features: Features, settings: LinkSettings, *, focus: np.ndarray | None = None
    ) -> None:
        self.focus = focus
        rules: list[tuple[str, _RulePairs]] = []
        for rule in settings.identifiers:
            both = len(rule.entity_types) == 2
            mask = _entity_mask(features, rule.entity_types, unknown=both)
            codes = np.where(mask, features[f"id_{rule.field}"].code, -1)
            rules.append(
                (rule.name, _rule_pairs(codes, max_block_size=None, focus=focus, star=True))
            )
        for rule in settings.blocking_rules:
            mask = _entity_mask(features, rule.entity_types, unknown=False)
            parts = [np.where(mask, features.entity.astype(np.int64), -1)]
            parts += [features[key].code for key in rule.keys]
            codes = combine_codes(parts)
            rp = _rule_pairs(codes, max_block_size=rule.max_block_size, focus=focus, star=False)
            rules.append((rule.name, rp))
        self.rule_names = tuple(name for name, _ in rules)
        self.skipped_blocks = {name: rp.skipped for name, rp in rules[len(settings.identifiers) :]}
        self._rules = [rp for _, rp in rules]

    def chunks(self, chunk: int | None = None) -> Iterator[Candidates]:
        """Distinct candidate pairs, rule by rule and block by block, at most ``chunk`` at a time.

        The pairs and the rule naming each do not depend on ``chunk``.
        """
        for r, rp in enumerate(self._rules):
            step = max(int(chunk or rp.total), 1)
            for start in range(0, rp.total, step):
                left, right = rp.pairs(start, min(start + step, rp.total))
                keep = np.ones(len(left), dtype=bool)
                if self.focus is not None and not rp.star:
                    keep &= self.focus[left] | self.focus[right]
                for earlier in self._rules[:r]:
                    keep &= ~earlier.finds(left, right, self.focus)
                if keep.any():
                    yield Candidates(
                        left=left[keep],
                        right=right[keep],
                        rule=np.full(int(keep.sum()), r, dtype=np.int16),
                        rule_names=self.rule_names,
                        skipped_blocks=self.skipped_blocks,
                    )
