"""Scoring candidate pairs a chunk at a time: levels, EM's pattern counts, weights, decisions.

Used by :func:`enrichment.linker.link_records`. Two passes when the model is
estimated: pass 1 counts EM's patterns per entity type (exact integer counts,
so chunking changes nothing) and spills each chunk's levels (one byte a
comparison) to a temporary file; pass 2 reads them back to weigh and decide.
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

from enrichment.blocking import Blocking, Candidates
from enrichment.comparisons import gamma_matrix
from enrichment.em import (
    KNOWN_MATCH,
    KNOWN_NON_MATCH,
    UNLABELLED,
    ModelParameters,
    count_patterns,
    estimate_m_from_patterns,
    estimate_u,
    merge_pattern_counts,
    pattern_codes,
)
from enrichment.link_features import ENTITY_CODES, Features
from enrichment.link_settings import EntityModel, LinkSettings, pinned_fields

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


def _informative(
    emodel: EntityModel, settings: LinkSettings, rule: np.ndarray, rule_names: tuple[str, ...]
) -> np.ndarray:
    """Per pair and comparison: False where the pair's blocking rule pinned the field."""
    keys = {r.name: r.keys for r in settings.blocking_rules}
    table = np.ones((len(rule_names), len(emodel.comparisons)), dtype=bool)
    for i, name in enumerate(rule_names):
        pinned = set().union(*(pinned_fields(k) for k in keys.get(name, ())))
        table[i] = [c.field not in pinned for c in emodel.comparisons]
    return table[rule.astype(np.int64)]


def _fit(
    emodel: EntityModel,
    settings: LinkSettings,
    features: Features,
    code: int,
    patterns: tuple[np.ndarray, np.ndarray],
    chunk: int | None = None,
) -> ModelParameters:
    """u from random pairs of this entity type, then m and lambda by EM over pattern counts.

    The random pairs are compared ``chunk`` at a time (their int8 levels are
    kept, not the comparisons' per-pair text), so the outcome does not depend on it.
    """
    members = np.flatnonzero(features.entity == code)
    n_t = len(members)
    params = ModelParameters.start(emodel)
    if n_t < 2:
        return params
    possible = n_t * (n_t - 1) / 2
    rng = np.random.default_rng(settings.em.seed)
    size = int(min(possible, settings.em.random_pairs, max(100_000, 20 * n_t)))
    a = members[rng.integers(0, n_t, size)]
    b = members[rng.integers(0, n_t, size)]
    keep = a != b
    a, b = a[keep], b[keep]
    step = max(int(chunk or len(a)), 1)
    gamma = np.concatenate(
        [
            gamma_matrix(emodel, features, a[i : i + step], b[i : i + step])
            for i in range(0, len(a), step)
        ]
        or [np.zeros((0, len(emodel.comparisons)), np.int8)]
    )
    params = estimate_u(gamma, params, em=settings.em)
    return estimate_m_from_patterns(patterns, params, possible_pairs=possible, em=settings.em)


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
        empty = np.zeros(0, np.int64)
        self.patterns = dict.fromkeys(ENTITY_CODES, (empty, empty))
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
            informative = _informative(emodel, self.settings, rule, part.cand.rule_names)
            n_levels = [len(c.levels) for c in emodel.comparisons]
            counted = count_patterns(pattern_codes(gamma, informative, part.label[sel], n_levels))
            self.patterns[et] = merge_pattern_counts([self.patterns[et], counted])
        spill.write(levels.tobytes())

    def fit(self, et: str) -> ModelParameters:
        emodel = self.settings.model_for(et)
        code = ENTITY_CODES[et]
        return _fit(emodel, self.settings, self.features, code, self.patterns[et], self.chunk)

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
        weight, tf_adjust = np.zeros(m), np.zeros(m)
        for et, code in ENTITY_CODES.items():
            sel = np.flatnonzero(part.entity == code)
            if not len(sel):
                continue
            emodel, params = self.settings.model_for(et), fitted[et]
            gamma = levels[np.ix_(sel, self.cols[et])]
            weight[sel] = params.match_weight(gamma)
            tf_adjust[sel] = _term_frequency(emodel, params, self.features, code, gamma, left[sel])
        weight += tf_adjust
        weight += part.id_weight
        prob = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
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
