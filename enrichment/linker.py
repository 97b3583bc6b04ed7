"""Entity resolution of records: identifiers, blocking, comparisons, EM, clusters.

The one linking engine, declared by :class:`~enrichment.link_settings.LinkSettings`:

1. :func:`enrichment.link_features.build_features` normalises every field
   once per distinct value;
2. :class:`enrichment.blocking.Blocking` links equal exact identifiers
   and generates the blocking rules' pairs (individuals only pair with
   individuals, organisations with organisations), ``pair_chunk`` at a time;
   steps 3 to 5 run a chunk at a time too (:mod:`enrichment.pair_scoring`), so
   only the kept pairs and the merges grow with the number of pairs;
3. :func:`enrichment.comparisons.gamma_matrix` gives each pair its level per
   comparison (rapidfuzz on distinct value pairs);
4. :mod:`enrichment.em` estimates u on random pairs, m by EM with one
   training session per blocking rule, and lambda, per entity type (unless a
   frozen :class:`LinkModel` is given, as incremental runs do);
5. each pair gets its Fellegi-Sunter weight and probability and a decision:
   an equal identifier merges, two different identifiers of one kind never
   auto-merge (at most 'review'), else ``auto_merge`` / ``review`` thresholds;
6. :func:`enrichment.clustering.cluster_records` clusters merges, accepted
   pairs (must-link) and, incrementally, the existing clusters of records not
   in focus, under cannot-link constraints (rejected pairs, identifier conflicts);
   then every pair of records inside a cluster of three or more is scored; a
   cluster holding a pair below ``settings.split_below`` (a clear non-match the
   model's merges chained together) is rebuilt strongest merge first, a merge
   joining two groups with such a pair between them only if the evidence of all
   the pairs between them (weights above the merge threshold's) adds up to >= 0.

Explanations are not materialised per pair (a million pairs would cost
gigabytes); :meth:`LinkResult.explain` builds one from the stored levels.

Not handled yet: term-frequency adjustments (a common surname weighs as much
as a rare one).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import MatchingError, Problem
from core.progress import ProgressSink, null_progress
from enrichment.blocking import Blocking, Candidates
from enrichment.em import KNOWN_MATCH, ModelParameters
from enrichment.link_features import ENTITY_CODES, Features, build_features
from enrichment.link_settings import LinkSettings
from enrichment.pair_scoring import (
    MERGE,
    PairChunk,
    Scorer,
    chunks_of,
    concat_sorted,
    pairs_frame,
)

#: Record columns the linker needs (others are optional).
LINK_COLUMNS: tuple[str, ...] = ("first_name", "last_name", "organization_name")

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
        Counts and seconds per phase; ``em_warnings`` lists what estimation
        could not do (e.g. a comparison every blocking rule pins).
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


def identifier_codes(features: Features, settings: LinkSettings) -> list[np.ndarray]:
    """Per identifier rule, each record's code where the rule applies to its entity type."""
    out = []
    for rule in settings.identifiers:
        mask = np.isin(features.entity, [ENTITY_CODES[e] for e in rule.entity_types])
        if len(rule.entity_types) == 2:
            mask |= features.entity < 0
        out.append(np.where(mask, features[f"id_{rule.field}"].code, -1))
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


#: Largest cluster whose every pair is scored by the check of :func:`_clear_non_matches`.
CHECKED_CLUSTER_MAX = 1_000


def _clear_non_matches(
    scorer: Scorer,
    fitted: Mapping[str, ModelParameters],
    cluster: np.ndarray,
    settings: LinkSettings,
    focus: np.ndarray | None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs of one cluster (of 3 to :data:`CHECKED_CLUSTER_MAX` records) the model scores
    below ``settings.split_below`` (two people a chain of merges joined through a record
    lacking what tells them apart), and every scored pair of the clusters holding one with
    its evidence: match weight less the ``auto_merge`` threshold's, in bits. With a focus,
    only pairs touching it (other clusters stay as they were).
    """
    from enrichment.clustering import member_pairs

    none = np.zeros(0, np.int64)
    if settings.split_below <= 0:
        return (none, none), (none, none, np.zeros(0))
    left, right = member_pairs(cluster, min_size=3, max_size=CHECKED_CLUSTER_MAX)
    if focus is not None:
        touch = focus[left] | focus[right]
        left, right = left[touch], right[touch]
    cand = Candidates(left, right, np.zeros(len(left), np.int16), ("cluster_check",))
    weight = scorer.weights(cand, fitted)
    low = weight < np.log2(settings.split_below / (1 - settings.split_below))
    held = np.isin(cluster[left], cluster[left[low]])
    bits = weight[held] - np.log2(settings.auto_merge / (1 - settings.auto_merge))
    return (left[low], right[low]), (left[held], right[held], bits)


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
        given = Candidates(
            left=np.minimum(pl, pr),
            right=np.maximum(pl, pr),
            rule=np.zeros(len(pl), dtype=np.int16),
            rule_names=("given",),
        )
        source: Blocking | Candidates = given
    else:
        source = Blocking(features, settings, focus=focus_arr)
    timings["blocking_s"] = time.perf_counter() - t
    progress("link", 2, total_steps)
    scorer = Scorer(features, settings, chunk=pair_chunk)

    def chunks() -> Iterable[PairChunk]:
        it = chunks_of(source, pair_chunk)
        while True:
            t = time.perf_counter()
            cand = next(it, None)
            timings["blocking_s"] += time.perf_counter() - t
            if cand is None:
                return
            yield scorer.prepare(cand)

    fit = model is None and settings.em.enabled
    with tempfile.TemporaryFile() as spill:
        if fit:  # pass 1: EM's pattern counts, levels spilled to disk for pass 2
            for part in chunks():
                scorer.count(part, spill)
            spill.seek(0)
        t = time.perf_counter()
        fitted = {
            et: (
                model.for_type(et)
                if model is not None
                else scorer.fit(et)
                if fit
                else ModelParameters.start(settings.model_for(et))
            )
            for et in ENTITY_CODES
        }
        scorer.t_em += time.perf_counter() - t
        progress("link", 3, total_steps)
        link_model = model or LinkModel(fitted["individual"], fitted["organization"])
        kept = [
            scorer.decide(part, fitted, spill if fit else None, keep_non_matches)
            for part in chunks()
        ]
    timings["comparisons_s"], timings["em_s"] = scorer.t_cmp, scorer.t_em

    t = time.perf_counter()
    index = records.index
    scored = concat_sorted(kept, scorer.comp_names)
    del kept
    ml_l, ml_r = _positions(index, must_link)
    cl_l, cl_r = _positions(index, cannot_link)
    ex_l, ex_r = _existing_edges(existing, index, focus_arr)
    merged = scored["decision"] == MERGE
    strength = np.concatenate(
        [scored["match_weight"][merged], np.full(len(ml_l), np.inf), np.full(len(ex_l), 1e6)]
    )
    from enrichment.clustering import cluster_records

    edges_l = np.concatenate([scored["left_pos"][merged], ml_l, ex_l])
    edges_r = np.concatenate([scored["right_pos"][merged], ml_r, ex_r])
    ids = identifier_codes(features, settings)
    cluster = cluster_records(
        len(records), edges_l, edges_r, strength, cannot_link=(cl_l, cl_r), identifiers=ids
    )
    apart, evidence = _clear_non_matches(scorer, fitted, cluster, settings, focus_arr)
    if len(apart[0]):
        cluster = cluster_records(
            len(records),
            edges_l,
            edges_r,
            strength,
            cannot_link=(cl_l, cl_r),
            identifiers=ids,
            separate=apart,
            evidence=evidence,
            # the model's own merges: not an equal identifier's, a reviewer's or a kept cluster's
            model_edges=np.concatenate(
                [scored["label"][merged] != KNOWN_MATCH, np.zeros(len(ml_l) + len(ex_l), bool)]
            ),
        )
    timings["clustering_s"] = time.perf_counter() - t
    progress("link", 4, total_steps)

    pairs = pairs_frame(scored, index.to_numpy(), source.rule_names, scorer.comp_names)
    progress("link", total_steps, total_steps)
    report = {
        "records": len(records),
        "pairs": scorer.n_pairs,
        "merge_pairs": scorer.n_merge,
        "review_pairs": scorer.n_review,
        "clusters": int(cluster.max(initial=-1) + 1),
        "split_pairs": len(apart[0]),
        "skipped_blocks": dict(getattr(source, "skipped_blocks", {})),
        "em_warnings": [f"{et}: {w}" for et, p in fitted.items() for w in p.warnings],
        **{k: round(v, 3) for k, v in timings.items()},
    }
    return LinkResult(
        pairs=pairs,
        clusters=pd.Series(cluster, index=index, name="cluster"),
        model=link_model,
        settings=settings,
        report=report,
    )
