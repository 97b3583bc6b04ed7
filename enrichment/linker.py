"""Entity resolution of records: identifiers, blocking, comparisons, EM, clusters.

The one linking engine, declared by :class:`~enrichment.link_settings.LinkSettings`:

1. :func:`enrichment.link_features.build_features` normalises every field
   once per distinct value;
2. :func:`enrichment.blocking.candidate_pairs` links equal exact identifiers
   and generates the blocking rules' pairs (individuals only pair with
   individuals, organisations with organisations);
3. :func:`enrichment.comparisons.gamma_matrix` gives each pair its level per
   comparison (rapidfuzz on distinct value pairs);
4. :mod:`enrichment.em` estimates u on random pairs and m and lambda by EM
   per entity type (unless a frozen :class:`LinkModel` is given, as
   incremental runs do);
5. each pair gets its Fellegi-Sunter weight and probability and a decision:
   an equal identifier merges, two different identifiers of one kind never
   auto-merge (at most 'review'), else ``auto_merge`` / ``review`` thresholds;
6. :func:`enrichment.clustering.cluster_records` clusters merges, accepted
   pairs (must-link) and, incrementally, the existing clusters of records not
   in focus, under cannot-link constraints (rejected pairs, identifier conflicts).

Explanations are not materialised per pair (a million pairs would cost
gigabytes); :meth:`LinkResult.explain` builds one from the stored levels.

Not handled yet: term-frequency adjustments (a common surname weighs as much
as a rare one).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import MatchingError, Problem
from core.progress import ProgressSink, null_progress
from enrichment.blocking import Candidates, candidate_pairs
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
from enrichment.link_features import ENTITY_CODES, Features, build_features
from enrichment.link_settings import KEY_FIELDS, EntityModel, LinkSettings

#: Record columns the linker needs (others are optional).
LINK_COLUMNS: tuple[str, ...] = ("first_name", "last_name", "organization_name")

#: Pair decisions, in code order.
DECISIONS: tuple[str, ...] = ("merge", "review", "non_match")
_MERGE, _REVIEW, _NON_MATCH = range(3)

#: Columns of :attr:`LinkResult.pairs` (plus one ``level_<comparison>`` column each).
PAIR_COLUMNS: tuple[str, ...] = (
    "left",
    "right",
    "left_pos",
    "right_pos",
    "entity_type",
    "blocking_rule",
    "label",
    "tf_adjustment",
    "match_weight",
    "match_probability",
    "decision",
)


@dataclass(frozen=True)
class LinkModel:
    """Fellegi-Sunter parameters per entity type, frozen for incremental runs."""

    individual: ModelParameters
    organization: ModelParameters

    @classmethod
    def start(cls, settings: LinkSettings) -> LinkModel:
        return cls(
            ModelParameters.start(settings.individual), ModelParameters.start(settings.organization)
        )

    def for_type(self, entity_type: str) -> ModelParameters:
        return self.individual if entity_type == "individual" else self.organization

    def to_dict(self) -> dict[str, Any]:
        return {
            "individual": self.individual.to_dict(),
            "organization": self.organization.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinkModel:
        return cls(
            ModelParameters.from_dict(data["individual"]),
            ModelParameters.from_dict(data["organization"]),
        )

    def matches(self, settings: LinkSettings) -> bool:
        """Whether this model has the comparisons and levels ``settings`` declares."""
        start = LinkModel.start(settings)
        return all(
            (getattr(self, t).comparisons, getattr(self, t).levels)
            == (getattr(start, t).comparisons, getattr(start, t).levels)
            for t in ("individual", "organization")
        )


@dataclass(frozen=True)
class LinkResult:
    """Outcome of :func:`link_records`.

    Attributes
    ----------
    pairs
        One row per scored candidate pair (or per pair decided ``merge`` or
        ``review``, see ``keep_non_matches``): :data:`PAIR_COLUMNS` and a
        ``level_<comparison>`` column per comparison (``-1`` missing side,
        ``-2`` not a comparison of the pair's entity type). ``label`` is 1
        for an equal identifier, 2 for different identifiers, else 0.
    clusters
        Record index label -> cluster id (0..k-1, numbered by first record).
    model
        The parameters used (estimated, or the frozen ones given).
    report
        Counts and seconds per phase.
    """

    pairs: pd.DataFrame
    clusters: pd.Series
    model: LinkModel
    settings: LinkSettings
    report: dict[str, Any] = field(default_factory=dict)

    def explain(self, row: int) -> dict[str, Any]:
        """Explanation of the pair at position ``row`` of :attr:`pairs`."""
        p = self.pairs.iloc[row]
        return explanation(p, self.settings, self.model)


def explanation(
    pair: Mapping[str, Any], settings: LinkSettings, model: LinkModel
) -> dict[str, Any]:
    """Which comparisons agreed at which level, with m, u and weight, for one scored pair.

    ``steps`` lists ``{"comparison", "level", "weight", "m", "u"}`` starting with
    the prior; the weights sum to ``match_weight``.
    """
    et = str(pair["entity_type"])
    params = model.for_type(et)
    steps: list[dict[str, Any]] = [
        {
            "comparison": "prior",
            "level": "lambda",
            "weight": params.prior_weight,
            "m": None,
            "u": None,
        }
    ]
    for k, (name, levels) in enumerate(zip(params.comparisons, params.levels)):
        lv = int(pair[f"level_{name}"])
        if lv == -1:
            steps.append({"comparison": name, "level": "null", "weight": 0.0, "m": None, "u": None})
            continue
        m, u = params.m[k][lv], params.u[k][lv]
        steps.append(
            {
                "comparison": name,
                "level": levels[lv],
                "weight": float(np.log2(m / u)),
                "m": m,
                "u": u,
            }
        )
    if float(pair.get("tf_adjustment", 0.0) or 0.0):
        steps.append(
            {
                "comparison": "term_frequency",
                "level": "rare or common value",
                "weight": float(pair["tf_adjustment"]),
                "m": None,
                "u": None,
            }
        )
    label = int(pair["label"])
    if label:  # the identifier's weight is what the comparisons do not account for
        rest = float(pair["match_weight"]) - sum(s["weight"] for s in steps)
        steps.insert(
            1,
            {
                "comparison": "identifier",
                "level": "equal" if label == KNOWN_MATCH else "different",
                "weight": rest,
                "m": None,
                "u": None,
            },
        )
    return {
        "left": _plain(pair["left"]),
        "right": _plain(pair["right"]),
        "entity_type": et,
        "blocking_rule": pair["blocking_rule"],
        "match_weight": float(pair["match_weight"]),
        "match_probability": float(pair["match_probability"]),
        "decision": pair["decision"],
        "steps": steps,
    }


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


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


def identifier_codes(features: Features, settings: LinkSettings) -> list[np.ndarray]:
    """Per identifier rule, each record's code where the rule applies to its entity type."""
    out = []
    for rule in settings.identifiers:
        mask = np.isin(features.entity, [ENTITY_CODES[e] for e in rule.entity_types])
        if len(rule.entity_types) == 2:
            mask |= features.entity < 0
        out.append(np.where(mask, features[f"id_{rule.field}"].code, -1))
    return out


def _informative(
    emodel: EntityModel, settings: LinkSettings, rule: np.ndarray, rule_names: tuple[str, ...]
) -> np.ndarray:
    """Per pair and comparison: False where the pair's blocking rule pinned the field."""
    keys = {r.name: r.keys for r in settings.blocking_rules}
    table = np.ones((len(rule_names), len(emodel.comparisons)), dtype=bool)
    for i, name in enumerate(rule_names):
        pinned = set().union(*(KEY_FIELDS[k] for k in keys.get(name, ())))
        table[i] = [c.field not in pinned for c in emodel.comparisons]
    return table[rule.astype(np.int64)]


def _fit(
    emodel: EntityModel,
    settings: LinkSettings,
    features: Features,
    code: int,
    patterns: tuple[np.ndarray, np.ndarray],
) -> ModelParameters:
    """u from random pairs of this entity type, then m and lambda by EM over pattern counts."""
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
    params = estimate_u(gamma_matrix(emodel, features, a[keep], b[keep]), params, em=settings.em)
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


def _positions(
    index: pd.Index, pairs: Iterable[tuple[Any, Any]] | None
) -> tuple[np.ndarray, np.ndarray]:
    pos = pd.Series(np.arange(len(index)), index=index)
    ls, rs = [], []
    for a, b in pairs or ():
        if a in pos.index and b in pos.index:
            ls.append(int(pos[a])), rs.append(int(pos[b]))
    return np.asarray(ls, dtype=np.int64), np.asarray(rs, dtype=np.int64)


def _existing_edges(
    existing: pd.Series | None, index: pd.Index, focus: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Star edges holding together the existing clusters of records outside the focus."""
    if existing is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys = existing.reindex(index).to_numpy(dtype=object)
    keep = ~pd.isna(keys)
    if focus is not None:
        keep &= ~focus
    codes = np.where(keep, pd.factorize(np.where(keep, keys, None), use_na_sentinel=True)[0], -1)
    from enrichment.blocking import star_pairs

    return star_pairs(codes.astype(np.int64))


def link_records(
    records: pd.DataFrame,
    *,
    settings: LinkSettings,
    model: LinkModel | None = None,
    classes: Mapping[str, str] | None = None,
    focus: np.ndarray | pd.Series | None = None,
    existing: pd.Series | None = None,
    must_link: Iterable[tuple[Any, Any]] | None = None,
    cannot_link: Iterable[tuple[Any, Any]] | None = None,
    pairs: Iterable[tuple[Any, Any]] | None = None,
    keep_non_matches: bool = True,
    pair_chunk: int | None = None,
    progress: ProgressSink = null_progress,
) -> LinkResult:
    """Deduplicate records: score candidate pairs and cluster them.

    Parameters
    ----------
    records
        Standard source records (or any frame with the same column names);
        the index labels identify them in the result and must be unique.
    settings
        Matching configuration.
    model
        Frozen parameters; ``None`` estimates them by EM (or uses the starting
        values when ``settings.em.enabled`` is false).
    classes
        NUCC code -> classification, for the specialty comparison.
    focus
        Boolean mask (incremental linking): only pairs touching a focus record
        are scored; records outside it keep their ``existing`` cluster.
    existing
        Record label -> current cluster key of already linked records.
    must_link, cannot_link
        Record label pairs a reviewer accepted / rejected (or unmerged).
    pairs
        Score exactly these record label pairs instead of blocking (to explain
        any pair); needs a frozen ``model``.
    keep_non_matches
        Keep the pairs decided ``non_match`` in :attr:`LinkResult.pairs`
        (most candidate pairs are; the report counts them either way).
    pair_chunk
        Candidate pairs compared at a time (``None``: all at once); the outcome
        does not depend on it.
    progress
        Receives ``("link", done, total)`` per phase.

    Raises
    ------
    MatchingError
        Missing name columns or duplicated record labels (all listed).
    """
    problems = [
        Problem("column missing from records", field=c)
        for c in LINK_COLUMNS
        if c not in records.columns
    ]
    if records.index.has_duplicates:
        problems.append(Problem("record index labels must be unique", field="index"))
    if model is not None and not model.matches(settings):
        problems.append(
            Problem("frozen model does not fit these settings' comparisons", field="model")
        )
    if problems:
        raise MatchingError("cannot link these records", problems=problems)
    focus_arr = None if focus is None else np.asarray(focus, dtype=bool)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    total_steps = 5
    progress("link", 0, total_steps)
    features = build_features(records, classes=classes)
    timings["features_s"] = time.perf_counter() - t
    progress("link", 1, total_steps)

    t = time.perf_counter()
    if pairs is not None:
        if model is None:
            raise MatchingError("scoring given pairs needs a frozen model")
        pl, pr = _positions(records.index, pairs)
        cand = Candidates(
            left=np.minimum(pl, pr),
            right=np.maximum(pl, pr),
            rule=np.zeros(len(pl), dtype=np.int16),
            rule_names=("given",),
        )
    else:
        cand = candidate_pairs(features, settings, focus=focus_arr)
    left, right = cand.left, cand.right
    ea, eb = features.entity[left], features.entity[right]
    pair_entity = np.where(ea >= 0, ea, eb).astype(np.int8)
    pair_entity = np.where(pair_entity < 0, ENTITY_CODES["individual"], pair_entity)
    label, id_weight = _labels_and_weights(features, settings, left, right, pair_entity)
    timings["blocking_s"] = time.perf_counter() - t
    progress("link", 2, total_steps)

    comp_names = list(
        dict.fromkeys(
            c.name for m in (settings.individual, settings.organization) for c in m.comparisons
        )
    )
    levels = {name: np.full(len(left), -2, dtype=np.int8) for name in comp_names}
    weight = np.zeros(len(left))
    tf_adjust = np.zeros(len(left))
    fitted: dict[str, ModelParameters] = {}
    t_cmp = t_em = 0.0
    step = max(int(pair_chunk or len(left)), 1)
    for et, code in ENTITY_CODES.items():
        sel = np.flatnonzero(pair_entity == code)
        emodel = settings.model_for(et)
        n_levels = [len(c.levels) for c in emodel.comparisons]
        fit = model is None and settings.em.enabled
        # pass 1, a chunk of pairs at a time: levels (one byte a comparison) and EM's pattern counts
        patterns = []
        t = time.perf_counter()
        for start in range(0, len(sel), step):
            part = sel[start : start + step]
            gamma = gamma_matrix(emodel, features, left[part], right[part])
            for k, comp in enumerate(emodel.comparisons):
                levels[comp.name][part] = gamma[:, k]
            if fit:
                informative = _informative(emodel, settings, cand.rule[part], cand.rule_names)
                patterns.append(
                    count_patterns(pattern_codes(gamma, informative, label[part], n_levels))
                )
        t_cmp += time.perf_counter() - t
        t = time.perf_counter()
        if model is not None:
            params = model.for_type(et)
        elif fit:
            params = _fit(emodel, settings, features, code, merge_pattern_counts(patterns))
        else:
            params = ModelParameters.start(emodel)
        t_em += time.perf_counter() - t
        fitted[et] = params
        # pass 2: weights from the stored levels
        for start in range(0, len(sel), step):
            part = sel[start : start + step]
            gamma = np.stack([levels[c.name][part] for c in emodel.comparisons], axis=1)
            weight[part] = params.match_weight(gamma)
            tf_adjust[part] = _term_frequency(emodel, params, features, code, gamma, left[part])
    weight += tf_adjust
    timings["comparisons_s"], timings["em_s"] = t_cmp, t_em
    progress("link", 3, total_steps)
    link_model = model or LinkModel(fitted["individual"], fitted["organization"])

    weight += id_weight
    prob = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
    # decision codes (int8: one byte a pair, where strings cost dozens)
    decision = np.full(len(prob), _NON_MATCH, dtype=np.int8)
    decision[prob >= settings.review] = _REVIEW
    decision[prob >= settings.auto_merge] = _MERGE
    decision[label == KNOWN_MATCH] = _MERGE
    decision[(label == KNOWN_NON_MATCH) & (decision == _MERGE)] = _REVIEW

    t = time.perf_counter()
    index = records.index
    ml_l, ml_r = _positions(index, must_link)
    cl_l, cl_r = _positions(index, cannot_link)
    ex_l, ex_r = _existing_edges(existing, index, focus_arr)
    merged = decision == _MERGE
    e_left = np.concatenate([left[merged], ml_l, ex_l])
    e_right = np.concatenate([right[merged], ml_r, ex_r])
    strength = np.concatenate([weight[merged], np.full(len(ml_l), np.inf), np.full(len(ex_l), 1e6)])
    from enrichment.clustering import cluster_records

    cluster = cluster_records(
        len(records),
        e_left,
        e_right,
        strength,
        cannot_link=(cl_l, cl_r),
        identifiers=identifier_codes(features, settings),
    )
    timings["clustering_s"] = time.perf_counter() - t
    progress("link", 4, total_steps)

    labels_arr = index.to_numpy()
    n_pairs, n_merge, n_review = len(left), int(merged.sum()), int((decision == _REVIEW).sum())
    keep = slice(None) if keep_non_matches else np.flatnonzero(decision != _NON_MATCH)
    pairs = pd.DataFrame(
        {
            "left": labels_arr[left[keep]],
            "right": labels_arr[right[keep]],
            "left_pos": left[keep],
            "right_pos": right[keep],
            "entity_type": pd.Categorical.from_codes(
                pair_entity[keep], ["individual", "organization"]
            ),
            "blocking_rule": pd.Categorical.from_codes(cand.rule[keep], list(cand.rule_names)),
            "label": label[keep],
            "tf_adjustment": tf_adjust[keep],
            "match_weight": weight[keep],
            "match_probability": prob[keep],
            "decision": pd.Categorical.from_codes(decision[keep], list(DECISIONS)),
            **{f"level_{name}": arr[keep] for name, arr in levels.items()},
        }
    )
    progress("link", total_steps, total_steps)
    report = {
        "records": len(records),
        "pairs": n_pairs,
        "merge_pairs": n_merge,
        "review_pairs": n_review,
        "clusters": int(cluster.max(initial=-1) + 1),
        "skipped_blocks": cand.skipped_blocks,
        **{k: round(v, 3) for k, v in timings.items()},
    }
    return LinkResult(
        pairs=pairs,
        clusters=pd.Series(cluster, index=index, name="cluster"),
        model=link_model,
        settings=settings,
        report=report,
    )
