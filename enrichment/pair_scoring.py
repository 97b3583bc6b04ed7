"""Scoring candidate pairs a chunk at a time: levels, EM's pattern counts, weights, decisions.

Used by :func:`enrichment.linker.link_records`. Two passes when the model is
estimated: pass 1 counts EM's patterns (exact integer counts, so chunking
changes nothing) and spills each chunk's levels (one byte a comparison) to a
temporary file; pass 2 reads them back to weigh and decide. Pass 1 counts,
per entity type, the patterns of every candidate pair masked by the rule that
found it (for lambda), and per blocking rule those of *all* candidate pairs
satisfying the rule, whichever rule found them, masked by that rule (one EM
training session each, see :mod:`enrichment.em`).
Between chunks only running counts and the rows the caller keeps stay in
memory, so memory is set by the chunk, not by the number of pairs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

import numpy as np
import pandas as pd

from enrichment.blocking import Blocking, Candidates, combine_codes
from enrichment.comparisons import gamma_matrix
from enrichment.em import (
    KNOWN_MATCH,
    KNOWN_NON_MATCH,
    UNLABELLED,
    ModelParameters,
    Patterns,
    TrainingSet,
    count_patterns,
    fit_parameters,
    mask_patterns,
    merge_pattern_counts,
    pattern_codes,
)
from enrichment.link_features import ENTITY_CODES, Features
from enrichment.link_settings import BlockingRule, EntityModel, LinkSettings, pinned_fields

#: Name of the training session of the pairs found by an exact identifier.
IDENTIFIER_SESSION = "identifiers"

#: Random pairs compared at a time for u, at least (a fixed amount of memory, a few MB).
RANDOM_CHUNK_MIN = 65_536

#: Pair decisions, in code order.
DECISIONS: tuple[str, ...] = ("merge", "review", "non_match")
MERGE, REVIEW, NON_MATCH = range(3)


def _labels_and_weights(
    features: Features,
    settings: LinkSettings,
    left: np.ndarray,
    right: np.ndarray,
    pair_entity: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Identifier label per pair and the identifier weight it adds."""
    eq = np.zeros(len(left), dtype=bool)
    ne = np.zeros(len(left), dtype=bool)
    w_eq = np.zeros(len(left))
    w_ne = np.zeros(len(left))
    for rule in settings.identifiers:
        applies = np.isin(pair_entity, [ENTITY_CODES[e] for e in rule.entity_types])
        code = features[f"id_{rule.field}"].code
        a, b = code[left], code[right]
        this_eq = applies & (a >= 0) & (a == b)
        this_ne = applies & (a >= 0) & (b >= 0) & (a != b)
        w_eq = np.where(this_eq & ~eq, rule.weight_equal, w_eq)
        w_ne = np.where(this_ne & ~ne, rule.weight_different, w_ne)
        eq |= this_eq
        ne |= this_ne
    label = np.where(eq, KNOWN_MATCH, np.where(ne, KNOWN_NON_MATCH, UNLABELLED)).astype(np.int8)
    return label, np.where(eq, w_eq, np.where(ne, w_ne, 0.0))


def _free(emodel: EntityModel, keys: tuple[str, ...]) -> tuple[bool, ...]:
    """Per comparison: not pinned by blocking ``keys`` (pairs sharing them may differ on it)."""
    pinned = set().union(*(pinned_fields(k) for k in keys))
    return tuple(c.field not in pinned for c in emodel.comparisons)


def _credited_free(
    emodel: EntityModel, settings: LinkSettings, rule_names: tuple[str, ...]
) -> list[tuple[bool, ...]]:
    """Per rule: the comparisons free among the pairs *credited* to it (found by it first).

    Those pairs agree on the rule's keys and, by not being found earlier,
    disagree on some earlier rule's keys: both select on fields, so the
    comparisons pinned by the rule or by any rule before it are masked.
    """
    keys = {r.name: r.keys for r in settings.blocking_rules}
    seen: tuple[str, ...] = ()
    out = []
    for name in rule_names:
        seen += keys.get(name, ())
        out.append(_free(emodel, seen))
    return out


class TrainingRules:
    """Which candidate pairs satisfy each blocking rule: its EM training session's pairs.

    A pair satisfies a rule when both records are of an entity type the rule
    covers, agree on every key (none missing) and their block is not larger
    than ``max_block_size``: exactly the pairs the rule yields. Decided per
    pair from the features, so it holds per record only the positions of
    oversized blocks.
    """

    def __init__(self, features: Features, settings: LinkSettings) -> None:
        self.features = features
        self.rules = settings.blocking_rules
        self.identifiers = frozenset(r.name for r in settings.identifiers)
        self.oversized = [self._oversized(rule) for rule in self.rules]

    def _oversized(self, rule: BlockingRule) -> np.ndarray:
        """Sorted positions of the records in this rule's skipped (oversized) blocks."""
        f = self.features
        mask = np.isin(f.entity, [ENTITY_CODES[e] for e in rule.entity_types])
        parts = [np.where(mask, f.entity.astype(np.int64), -1)]
        codes = combine_codes(parts + [f[key].code for key in rule.keys])
        sizes = np.bincount(codes[codes >= 0], minlength=1)
        return np.flatnonzero((codes >= 0) & (sizes[np.maximum(codes, 0)] > rule.max_block_size))

    def satisfies(self, r: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Per pair: whether blocking rule ``r`` yields it."""
        rule, entity = self.rules[r], self.features.entity
        ok = (entity[left] == entity[right]) & np.isin(
            entity[left], [ENTITY_CODES[e] for e in rule.entity_types]
        )
        for key in rule.keys:
            code = self.features[key].code
            ok &= (code[left] == code[right]) & (code[left] >= 0)
        big = self.oversized[r]
        if len(big):
            at = np.minimum(np.searchsorted(big, left), len(big) - 1)
            ok &= big[at] != left
        return ok

    def sessions(
        self, et: str, emodel: EntityModel, cand: Candidates, sel: np.ndarray
    ) -> Iterator[tuple[str, tuple[bool, ...], np.ndarray]]:
        """(name, free comparisons, member mask over ``sel``) of each session of ``et``."""
        left, right = cand.left[sel], cand.right[sel]
        for r, rule in enumerate(self.rules):
            if et in rule.entity_types:
                yield rule.name, _free(emodel, rule.keys), self.satisfies(r, left, right)
        by_identifier = np.array([n in self.identifiers for n in cand.rule_names], dtype=bool)
        free = (True,) * len(emodel.comparisons)
        yield IDENTIFIER_SESSION, free, by_identifier[cand.rule[sel].astype(np.int64)]


def _random_pairs(members: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every pair of ``members`` when there are at most ``count``, else ``count`` random ones."""
    n_t = len(members)
    if n_t * (n_t - 1) // 2 <= count:
        a, b = np.triu_indices(n_t, k=1)
        return members[a], members[b]
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_t, count)
    b = rng.integers(0, n_t - 1, count)
    b += b >= a  # uniform over the other records: never a record with itself
    return members[a], members[b]


def _random_patterns(
    emodel: EntityModel, settings: LinkSettings, features: Features, code: int, chunk: int | None
) -> Patterns:
    """Pattern counts (levels and identifier label) of the random pairs of one entity type.

    The random pairs (``settings.em.random_pairs``, or all pairs if fewer) are
    compared ``chunk`` at a time, at least :data:`RANDOM_CHUNK_MIN`, and only
    their counts are kept, so memory is bounded and the outcome does not
    depend on ``chunk``.
    """
    members = np.flatnonzero(features.entity == code)
    a, b = _random_pairs(members, settings.em.random_pairs, settings.em.seed)
    n_levels = [len(c.levels) for c in emodel.comparisons]
    step = max(int(chunk or len(a)), RANDOM_CHUNK_MIN)
    parts = []
    for i in range(0, len(a), step):
        left, right = a[i : i + step], b[i : i + step]
        gamma = gamma_matrix(emodel, features, left, right)
        entity = np.full(len(left), code, np.int8)
        labels, _ = _labels_and_weights(features, settings, left, right, entity)
        parts.append(
            count_patterns(pattern_codes(gamma, np.ones(gamma.shape, dtype=bool), labels, n_levels))
        )
    return merge_pattern_counts(parts)


def _fit(
    emodel: EntityModel,
    settings: LinkSettings,
    features: Features,
    code: int,
    credited: list[Patterns],
    sets: list[TrainingSet],
    chunk: int | None = None,
) -> ModelParameters:
    """u from random pairs of this entity type, m by EM per training session, and lambda."""
    n_t = int((features.entity == code).sum())
    params = ModelParameters.start(emodel)
    if n_t < 2:
        return params
    random = _random_patterns(emodel, settings, features, code, chunk)
    possible = n_t * (n_t - 1) / 2
    return fit_parameters(random, sets, credited, params, possible_pairs=possible, em=settings.em)


def _term_frequency(
    emodel: EntityModel,
    params: ModelParameters,
    features: Features,
    code: int,
    gamma: np.ndarray,
    left: np.ndarray,
) -> np.ndarray:
    """Bits added where a term-frequency comparison agrees exactly: ``log2(u / tf(value))``."""
    out = np.zeros(len(left))
    members = features.entity == code
    n_t = max(int(members.sum()), 1)
    for k, comp in enumerate(emodel.comparisons):
        if not comp.term_frequency or comp.levels[0].test != "exact":
            continue
        values = features[comp.field].code
        counts = np.bincount(
            values[members & (values >= 0)], minlength=int(values.max(initial=0)) + 1
        )
        hit = gamma[:, k] == 0
        tf = np.maximum(counts[values[left[hit]]] / n_t, 1.0 / n_t)
        out[hit] += np.log2(params.u[k][0] / tf)
    return out


@dataclass(frozen=True)
class PairChunk:
    """A chunk of candidate pairs with what every pass needs: entity type and identifier label."""

    cand: Candidates
    entity: np.ndarray  # int8 entity code per pair
    label: np.ndarray
    id_weight: np.ndarray


def chunks_of(source: Blocking | Candidates, pair_chunk: int | None) -> Iterator[Candidates]:
    if isinstance(source, Blocking):
        yield from source.chunks(pair_chunk)
        return
    step = max(int(pair_chunk or len(source)), 1)
    for start in range(0, len(source), step):
        cut = slice(start, start + step)
        yield Candidates(source.left[cut], source.right[cut], source.rule[cut], source.rule_names)


class Scorer:
    """Scores chunks of candidate pairs: levels, EM's pattern counts, weights and decisions.

    Keeps only running counts between chunks (and, from :meth:`decide`, the
    rows the caller keeps), so memory is set by the chunk.
    """

    def __init__(
        self, features: Features, settings: LinkSettings, *, chunk: int | None = None
    ) -> None:
        self.features, self.settings, self.chunk = features, settings, chunk
        models = (settings.individual, settings.organization)
        self.comp_names = list(dict.fromkeys(c.name for m in models for c in m.comparisons))
        self.cols = {
            et: [self.comp_names.index(c.name) for c in settings.model_for(et).comparisons]
            for et in ENTITY_CODES
        }
        #: per entity type, per rule index: patterns of the pairs credited to that rule
        self.patterns: dict[str, dict[int, Patterns]] = {et: {} for et in ENTITY_CODES}
        #: per entity type, per training session: (free comparisons, pattern counts)
        self.sessions: dict[str, dict[str, tuple[tuple[bool, ...], Patterns]]] = {
            et: {} for et in ENTITY_CODES
        }
        self._training: TrainingRules | None = None
        self.t_cmp = self.t_em = 0.0
        self.n_pairs = self.n_merge = self.n_review = 0

    def prepare(self, cand: Candidates) -> PairChunk:
        ea, eb = self.features.entity[cand.left], self.features.entity[cand.right]
        entity = np.where(ea >= 0, ea, eb).astype(np.int8)
        entity = np.where(entity < 0, ENTITY_CODES["individual"], entity).astype(np.int8)
        label, id_weight = _labels_and_weights(
            self.features, self.settings, cand.left, cand.right, entity
        )
        return PairChunk(cand, entity, label, id_weight)

    def _levels(self, part: PairChunk) -> np.ndarray:
        """``(pairs, comparisons)`` int8 levels; ``-2`` where not a comparison of the pair's type."""
        t = time.perf_counter()
        left, right = part.cand.left, part.cand.right
        out = np.full((len(left), len(self.comp_names)), -2, dtype=np.int8)
        for et, code in ENTITY_CODES.items():
            sel = np.flatnonzero(part.entity == code)
            if len(sel):
                gamma = gamma_matrix(
                    self.settings.model_for(et), self.features, left[sel], right[sel]
                )
                out[np.ix_(sel, self.cols[et])] = gamma
        self.t_cmp += time.perf_counter() - t
        return out

    def count(self, part: PairChunk, spill: IO[bytes]) -> None:
        """Pass 1: add the chunk's patterns to EM's counts; its levels go to ``spill``."""
        levels = self._levels(part)
        for et, code in ENTITY_CODES.items():
            sel = np.flatnonzero(part.entity == code)
            if not len(sel):
                continue
            emodel = self.settings.model_for(et)
            gamma = levels[np.ix_(sel, self.cols[et])]
            rule = part.cand.rule[sel]
            free = _credited_free(emodel, self.settings, part.cand.rule_names)
            n_levels = [len(c.levels) for c in emodel.comparisons]
            for r in np.unique(rule).tolist():
                sub = rule == r
                informative = np.broadcast_to(np.array(free[r]), (int(sub.sum()), len(free[r])))
                codes = pattern_codes(gamma[sub], informative, part.label[sel][sub], n_levels)
                counted = count_patterns(codes)
                if r in self.patterns[et]:
                    counted = merge_pattern_counts([self.patterns[et][r], counted])
                self.patterns[et][r] = counted
            self._count_sessions(et, part, sel, gamma)
        spill.write(levels.tobytes())

    def _count_sessions(self, et: str, part: PairChunk, sel: np.ndarray, gamma: np.ndarray) -> None:
        """Add the chunk's pairs to the pattern counts of every session whose rule they satisfy.

        The pairs' unmasked patterns are sorted once; a session counts its
        members' patterns, then masks those distinct patterns by its rule.
        """
        if self._training is None:
            self._training = TrainingRules(self.features, self.settings)
        emodel = self.settings.model_for(et)
        n_levels = [len(c.levels) for c in emodel.comparisons]
        whole = np.ones(gamma.shape, dtype=bool)
        uniq, inverse = np.unique(
            pattern_codes(gamma, whole, part.label[sel], n_levels), return_inverse=True
        )
        for name, free, member in self._training.sessions(et, emodel, part.cand, sel):
            if not member.any():
                continue
            counts = np.bincount(inverse[member], minlength=len(uniq))
            hit = counts > 0
            masked = mask_patterns((uniq[hit], counts[hit]), free, n_levels)
            if name in self.sessions[et]:
                masked = merge_pattern_counts([self.sessions[et][name][1], masked])
            self.sessions[et][name] = (free, masked)

    def fit(self, et: str) -> ModelParameters:
        emodel = self.settings.model_for(et)
        code = ENTITY_CODES[et]
        sets = [
            TrainingSet(name, patterns, free)
            for name, (free, patterns) in self._ordered_sessions(et)
        ]
        credited = [self.patterns[et][r] for r in sorted(self.patterns[et])]
        return _fit(emodel, self.settings, self.features, code, credited, sets, self.chunk)

    def _ordered_sessions(self, et: str) -> list[tuple[str, tuple[tuple[bool, ...], Patterns]]]:
        """Sessions in settings order (blocking rules, then identifiers), whatever the chunks."""
        order = [r.name for r in self.settings.blocking_rules] + [IDENTIFIER_SESSION]
        return [(n, self.sessions[et][n]) for n in order if n in self.sessions[et]]

    def _weigh(
        self, part: PairChunk, fitted: Mapping[str, ModelParameters], levels: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Match weight (term frequencies and identifiers included), the term-frequency
        part of it, and the match probability of each pair."""
        m = len(part.cand)
        weight, tf_adjust = np.zeros(m), np.zeros(m)
        for et, code in ENTITY_CODES.items():
            sel = np.flatnonzero(part.entity == code)
            if not len(sel):
                continue
            emodel, params = self.settings.model_for(et), fitted[et]
            gamma = levels[np.ix_(sel, self.cols[et])]
            weight[sel] = params.match_weight(gamma)
            tf_adjust[sel] = _term_frequency(
                emodel, params, self.features, code, gamma, part.cand.left[sel]
            )
        weight += tf_adjust
        weight += part.id_weight
        prob = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
        return weight, tf_adjust, prob

    def weights(self, cand: Candidates, fitted: Mapping[str, ModelParameters]) -> np.ndarray:
        """Match weight of any pairs, ``chunk`` at a time (not counted in the report)."""
        step = max(int(self.chunk or len(cand)), 1)
        out = [np.zeros(0)]
        for part in chunks_of(cand, step):
            prepared = self.prepare(part)
            out.append(self._weigh(prepared, fitted, self._levels(prepared))[0])
        return np.concatenate(out)

    def decide(
        self,
        part: PairChunk,
        fitted: Mapping[str, ModelParameters],
        spill: IO[bytes] | None,
        keep_non_matches: bool,
    ) -> dict[str, np.ndarray]:
        """Pass 2: weights, probabilities and decisions; the rows kept, as arrays."""
        left, m = part.cand.left, len(part.cand)
        if spill is None:
            levels = self._levels(part)
        else:
            raw = spill.read(m * len(self.comp_names))
            levels = np.frombuffer(raw, dtype=np.int8).reshape(m, len(self.comp_names))
        weight, tf_adjust, prob = self._weigh(part, fitted, levels)
        # decision codes (int8: one byte a pair, where strings cost dozens)
        decision = np.full(m, NON_MATCH, dtype=np.int8)
        decision[prob >= self.settings.review] = REVIEW
        decision[prob >= self.settings.auto_merge] = MERGE
        decision[part.label == KNOWN_MATCH] = MERGE
        decision[(part.label == KNOWN_NON_MATCH) & (decision == MERGE)] = REVIEW
        self.n_pairs += m
        self.n_merge += int((decision == MERGE).sum())
        self.n_review += int((decision == REVIEW).sum())
        keep = np.ones(m, dtype=bool) if keep_non_matches else decision != NON_MATCH
        return {
            "left_pos": left[keep],
            "right_pos": part.cand.right[keep],
            "entity": part.entity[keep],
            "rule": part.cand.rule[keep],
            "label": part.label[keep],
            "tf_adjustment": tf_adjust[keep],
            "match_weight": weight[keep],
            "match_probability": prob[keep],
            "decision": decision[keep],
            "levels": np.array(levels[keep]),
        }


def concat_sorted(
    kept: list[dict[str, np.ndarray]], comp_names: list[str]
) -> dict[str, np.ndarray]:
    """The kept rows of every chunk as one set of arrays, by (left, right) position."""
    if not kept:
        int64, f8 = np.zeros(0, np.int64), np.zeros(0)
        return {
            "left_pos": int64,
            "right_pos": int64,
            "entity": np.zeros(0, np.int8),
            "rule": np.zeros(0, np.int16),
            "label": np.zeros(0, np.int8),
            "tf_adjustment": f8,
            "match_weight": f8,
            "match_probability": f8,
            "decision": np.zeros(0, np.int8),
            "levels": np.zeros((0, len(comp_names)), np.int8),
        }
    out = {k: np.concatenate([part[k] for part in kept]) for k in kept[0]}
    order = np.lexsort((out["right_pos"], out["left_pos"]))
    return {k: v[order] for k, v in out.items()}


def pairs_frame(
    scored: Mapping[str, np.ndarray],
    labels: np.ndarray,
    rule_names: tuple[str, ...],
    comp_names: list[str],
) -> pd.DataFrame:
    """:attr:`LinkResult.pairs` from the kept rows."""
    left, right = scored["left_pos"], scored["right_pos"]
    return pd.DataFrame(
        {
            "left": labels[left],
            "right": labels[right],
            "left_pos": left,
            "right_pos": right,
            "entity_type": pd.Categorical.from_codes(
                scored["entity"], ["individual", "organization"]
            ),
            "blocking_rule": pd.Categorical.from_codes(scored["rule"], list(rule_names)),
            "label": scored["label"],
            "tf_adjustment": scored["tf_adjustment"],
            "match_weight": scored["match_weight"],
            "match_probability": scored["match_probability"],
            "decision": pd.Categorical.from_codes(scored["decision"], list(DECISIONS)),
            **{f"level_{name}": scored["levels"][:, k] for k, name in enumerate(comp_names)},
        }
    )
