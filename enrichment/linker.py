"""Entity resolution of source records (and existing golden records) with rapidfuzz.

Matching is declared in :class:`~enrichment.link_settings.LinkSettings`:
equal NPIs link first and always merge; then candidate pairs from the blocking
rules are scored with Fellegi-Sunter weights (Jaro-Winkler and token-set
similarities computed pairwise with :func:`rapidfuzz.process.cpdist`). Merge
pairs form clusters (connected components, :mod:`networkx`).

Rules beyond the weights: individuals only pair with individuals and
organisations with organisations (a blank entity type, as on deactivated NPIs,
only links by NPI); two different NPIs never auto-merge (at most 'review');
golden records are never paired with each other.

Not handled yet: m/u estimation (see :mod:`enrichment.link_settings`), term
frequency adjustments (a common surname weighs as much as a rare one), and
merging two existing golden records: when one cluster reaches several golden
records, its records take the provider_id of the most probable link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler

from core.errors import MatchingError, Problem
from enrichment.link_settings import Comparison, LinkSettings
from enrichment.normalize import (
    canonical_first_name,
    normalize_address,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
)
from enrichment.nucc import taxonomy_classifications

#: Record columns the linker reads (a missing one is an error for ``records``).
LINK_COLUMNS: tuple[str, ...] = (
    "npi",
    "entity_type",
    "first_name",
    "last_name",
    "organization_name",
    "address_1",
    "address_2",
    "postal_code",
    "phone",
    "taxonomy_code",
    "specialty_text",
)

#: Columns of :attr:`LinkResult.pairs`.
PAIR_COLUMNS: tuple[str, ...] = (
    "left",
    "right",
    "right_is_golden",
    "blocking_rule",
    "match_probability",
    "match_weight",
    "decision",
    "explanation",
)

#: Prefix of the stand-in classification (first four code characters) used without NUCC.
_CODE_CLASS = "CODE:"

#: Token-set ratio at which a free-text specialty counts as naming a classification.
SPECIALTY_TEXT_MATCH = 90.0


@dataclass(frozen=True)
class LinkResult:
    """Outcome of :func:`link_records`.

    Attributes
    ----------
    pairs
        One row per scored candidate pair (:data:`PAIR_COLUMNS`): ``left`` is a
        record index label, ``right`` a record index label or, when
        ``right_is_golden``, a golden ``provider_id``; ``decision`` is 'merge',
        'review' or 'non_match'; ``explanation`` a list of
        ``{"comparison", "level", "weight"}`` whose weights sum to ``match_weight``.
    clusters
        Record index label -> cluster id (0..k-1, numbered by first record).
    provider_ids
        Record index label -> provider_id of the golden record its cluster
        merged with, else ``None``.
    """

    pairs: pd.DataFrame
    clusters: pd.Series
    provider_ids: pd.Series


def _none_if_blank(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _col(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [_none_if_blank(v) for v in frame[name].tolist()]


def _or_none(s: str) -> str | None:
    return s or None


def _features(frame: pd.DataFrame, classes: Mapping[str, str]) -> pd.DataFrame:
    """Normalised comparison and blocking keys, one row per input row."""
    first = [
        _or_none(normalize_name(v).split(" ")[0]) if v else None for v in _col(frame, "first_name")
    ]
    last = [_or_none(normalize_name(v)) if v else None for v in _col(frame, "last_name")]
    org = [_or_none(normalize_name(v)) if v else None for v in _col(frame, "organization_name")]
    address = [
        _or_none(normalize_address(" ".join(str(p) for p in (a, b) if p)))
        for a, b in zip(_col(frame, "address_1"), _col(frame, "address_2"))
    ]
    entity = _col(frame, "entity_type")
    entity = [
        e
        if e is not None
        else (
            None
            if "entity_type" in frame.columns
            else ("individual" if ln else "organization" if o else None)
        )
        for e, ln, o in zip(entity, last, org)
    ]
    codes = [str(c).upper() if c else None for c in _col(frame, "taxonomy_code")]
    specialty = [
        _or_none(normalize_name(str(s))) if s else None for s in _col(frame, "specialty_text")
    ]
    classification = [
        (
            _or_none(normalize_name(classes[c]))
            if c in classes
            else (_CODE_CLASS + c[:4] if c else None)
        )
        for c in codes
    ]
    canon = [canonical_first_name(f) if f else None for f in first]
    return pd.DataFrame(
        {
            "npi": pd.Series([str(v) if v else None for v in _col(frame, "npi")], dtype=object),
            "entity_type": pd.Series(entity, dtype=object),
            "first_name": pd.Series(first, dtype=object),
            "canon_first": pd.Series(canon, dtype=object),
            # initial of the canonical first name, so "Bob" and "Robert" block together
            "first_initial": pd.Series([f[0] if f else None for f in canon], dtype=object),
            "last_name": pd.Series(last, dtype=object),
            "last_initial": pd.Series([ln[0] if ln else None for ln in last], dtype=object),
            "organization_name": pd.Series(org, dtype=object),
            "address": pd.Series(address, dtype=object),
            "phone": pd.Series(
                [normalize_phone(str(p)) if p else None for p in _col(frame, "phone")], dtype=object
            ),
            "postal_code": pd.Series(
                [normalize_postal_code(str(z)) if z else None for z in _col(frame, "postal_code")],
                dtype=object,
            ),
            "taxonomy_code": pd.Series(codes, dtype=object),
            "classification": pd.Series(classification, dtype=object),
            "specialty": pd.Series(specialty, dtype=object),
        }
    )


def _candidate_pairs(feat: pd.DataFrame, settings: LinkSettings, n_records: int) -> pd.DataFrame:
    """Distinct (l, r, rule) position pairs with l < r, l a record; first rule wins."""
    feat = feat.assign(_pos=np.arange(len(feat)))
    found: list[pd.DataFrame] = []
    rules = [("exact_npi", ("npi",), False)] + [
        (r.name, r.keys, True) for r in settings.blocking_rules
    ]
    for name, keys, same_type in rules:
        on = list(keys) + (["entity_type"] if same_type else [])
        sub = feat[["_pos", *dict.fromkeys(on + ["entity_type"])]].dropna(subset=on)
        if sub.empty:
            continue
        m = sub.merge(sub, on=on, suffixes=("_l", "_r"))
        m = m[(m["_pos_l"] < m["_pos_r"]) & (m["_pos_l"] < n_records)]
        if not same_type:
            et_l, et_r = m["entity_type_l"], m["entity_type_r"]
            m = m[et_l.isna() | et_r.isna() | (et_l == et_r)]
        found.append(
            pd.DataFrame({"l": m["_pos_l"].to_numpy(), "r": m["_pos_r"].to_numpy(), "rule": name})
        )
    if not found:
        return pd.DataFrame(
            {
                "l": pd.Series(dtype="int64"),
                "r": pd.Series(dtype="int64"),
                "rule": pd.Series(dtype=object),
            }
        )
    pairs = pd.concat(found, ignore_index=True).drop_duplicates(subset=["l", "r"], keep="first")
    return pairs.sort_values(["l", "r"], kind="stable").reset_index(drop=True)


def _similarity(a: list[str | None], b: list[str | None], test: str) -> np.ndarray:
    left = [x or "" for x in a]
    right = [x or "" for x in b]
    if not left:
        return np.zeros(0)
    if test == "jaro_winkler":
        return np.asarray(process.cpdist(left, right, scorer=JaroWinkler.normalized_similarity))
    return np.asarray(process.cpdist(left, right, scorer=fuzz.token_set_ratio))


def _levels(comp: Comparison, fa: pd.DataFrame, fb: pd.DataFrame) -> np.ndarray:
    """Index of the first level each pair reaches; -1 where a side is missing."""
    n = len(fa)
    fld = comp.field if comp.field != "taxonomy" else "taxonomy_code"
    a, b = fa[fld].tolist(), fb[fld].tolist()
    if comp.field == "taxonomy":
        present_a = np.array(
            [x is not None or s is not None for x, s in zip(a, fa["specialty"])], dtype=bool
        )
        present_b = np.array(
            [x is not None or s is not None for x, s in zip(b, fb["specialty"])], dtype=bool
        )
        missing = ~(present_a & present_b)
    else:
        missing = np.array([x is None or y is None for x, y in zip(a, b)], dtype=bool)
    level = np.full(n, -1, dtype=int)
    sims: dict[str, np.ndarray] = {}
    for k, lv in enumerate(comp.levels):
        open_ = (level == -1) & ~missing
        if not open_.any():
            break
        if lv.test == "exact":
            hit = np.array([x is not None and x == y for x, y in zip(a, b)], dtype=bool)
        elif lv.test == "nickname":
            hit = np.array(
                [x is not None and x == y for x, y in zip(fa["canon_first"], fb["canon_first"])],
                dtype=bool,
            )
        elif lv.test == "initial":
            hit = np.array(
                [
                    bool(x and y) and (len(x) == 1 or len(y) == 1) and x[0] == y[0]
                    for x, y in zip(a, b)
                ],
                dtype=bool,
            )
        elif lv.test in ("jaro_winkler", "token_set"):
            if lv.test not in sims:
                sims[lv.test] = _similarity(a, b, lv.test)
            hit = sims[lv.test] >= float(lv.threshold or 0)
        elif lv.test == "same_classification":
            hit = _same_classification(fa, fb)
        else:  # "else"
            hit = np.ones(n, dtype=bool)
        level[open_ & hit] = k
    return level


def _same_classification(fa: pd.DataFrame, fb: pd.DataFrame) -> np.ndarray:
    """Same classification, or a free-text specialty naming the other side's one."""
    seen: dict[tuple, bool] = {}  # candidate pairs repeat a few specialty combinations

    def agree(ca: str | None, sa: str | None, cb: str | None, sb: str | None) -> bool:
        if ca is not None and ca == cb:
            return True
        named_a = ca if ca is not None and not ca.startswith(_CODE_CLASS) else None
        named_b = cb if cb is not None and not cb.startswith(_CODE_CLASS) else None
        texts = [(sa, named_b), (sa, sb), (named_a, sb)]
        return any(
            x is not None and y is not None and fuzz.token_set_ratio(x, y) >= SPECIALTY_TEXT_MATCH
            for x, y in texts
        )

    out = np.zeros(len(fa), dtype=bool)
    rows = zip(fa["classification"], fa["specialty"], fb["classification"], fb["specialty"])
    for i, key in enumerate(rows):
        hit = seen.get(key)
        if hit is None:
            hit = seen[key] = agree(*key)
        out[i] = hit
    return out


def link_records(
    records: pd.DataFrame,
    golden: pd.DataFrame | None = None,
    *,
    settings: LinkSettings,
    taxonomy: pd.DataFrame | Mapping[str, str] | None = None,
) -> LinkResult:
    """Deduplicate source records among themselves and against golden records.

    Parameters
    ----------
    records
        Standard source records (see :mod:`enrichment.records`); the index labels
        identify them in the result.
    golden
        Existing golden records with ``provider_id`` and the same name, address,
        phone, NPI and taxonomy columns (missing ones count as blank).
    settings
        Matching configuration.
    taxonomy
        NUCC frame from :func:`enrichment.nucc.read_nucc` (or code -> classification)
        for the classification level; without it codes agree on their first four
        characters and free-text specialties only match each other.

    Returns
    -------
    LinkResult

    Raises
    ------
    MatchingError
        Missing record columns, duplicated record labels or provider ids.
    """
    if not isinstance(records, pd.DataFrame):
        raise TypeError(f"records must be a DataFrame, not {type(records).__name__}")
    if golden is not None and not isinstance(golden, pd.DataFrame):
        raise TypeError(f"golden must be a DataFrame or None, not {type(golden).__name__}")
    if not isinstance(settings, LinkSettings):
        raise TypeError(f"settings must be LinkSettings, not {type(settings).__name__}")
    if taxonomy is None:
        classes: Mapping[str, str] = {}
    elif isinstance(taxonomy, pd.DataFrame):
        classes = taxonomy_classifications(taxonomy)
    elif isinstance(taxonomy, Mapping):
        classes = taxonomy
    else:
        raise TypeError(f"taxonomy must be a DataFrame or Mapping, not {type(taxonomy).__name__}")
    problems = [
        Problem("column missing from records", field=c)
        for c in LINK_COLUMNS
        if c not in records.columns
    ]
    if records.index.has_duplicates:
        problems.append(Problem("record index labels must be unique", field="index"))
    golden = (
        golden if golden is not None else pd.DataFrame({"provider_id": pd.Series(dtype=object)})
    )
    if "provider_id" not in golden.columns:
        problems.append(Problem("column missing from golden records", field="provider_id"))
    elif golden["provider_id"].duplicated().any() or golden["provider_id"].isna().any():
        problems.append(Problem("provider_id must be unique and non-null", field="provider_id"))
    if problems:
        raise MatchingError("cannot link these records", problems=problems)

    n = len(records)
    feat = pd.concat([_features(records, classes), _features(golden, classes)], ignore_index=True)
    labels = list(records.index) + list(golden["provider_id"])
    cand = _candidate_pairs(feat, settings, n)
    l_pos, r_pos = cand["l"].to_numpy(dtype=int), cand["r"].to_numpy(dtype=int)
    fa = feat.iloc[l_pos].reset_index(drop=True)
    fb = feat.iloc[r_pos].reset_index(drop=True)

    # Explanation entries are shared, read-only dicts: one per (comparison, level),
    # so millions of candidate pairs cost a list of references each, not new dicts.
    weight = np.full(len(cand), settings.prior_weight)
    prior = {"comparison": "prior", "level": "prior", "weight": settings.prior_weight}
    ident = settings.identifier
    npi_eq = np.array([x is not None and x == y for x, y in zip(fa["npi"], fb["npi"])], dtype=bool)
    npi_ne = np.array(
        [x is not None and y is not None and x != y for x, y in zip(fa["npi"], fb["npi"])],
        dtype=bool,
    )
    w_eq, w_ne = (
        float(np.log2(ident.m_equal / ident.u_equal)),
        float(np.log2(ident.m_different / ident.u_different)),
    )
    weight += np.where(npi_eq, w_eq, 0.0) + np.where(npi_ne, w_ne, 0.0)
    npi_entry = np.full(len(cand), None, dtype=object)
    npi_entry[npi_eq] = {"comparison": "npi", "level": "exact", "weight": w_eq}
    npi_entry[npi_ne] = {"comparison": "npi", "level": "different", "weight": w_ne}
    columns: list[np.ndarray] = [npi_entry]
    for comp in settings.comparisons:
        lv = _levels(comp, fa, fb)
        # the last entry is the "null" level, so level -1 (a side missing) indexes it
        table = [{"comparison": comp.name, "level": lev.name, "weight": float(lev.weight)}
                 for lev in comp.levels]
        table.append({"comparison": comp.name, "level": "null", "weight": 0.0})
        entries = np.empty(len(table), dtype=object)
        entries[:] = table
        weight += np.array([e["weight"] for e in table])[lv]
        columns.append(entries[lv])
    parts = [[prior, *(e for e in row if e is not None)] for row in zip(*columns)]
    prob = 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
    decision = np.where(
        prob >= settings.auto_merge,
        "merge",
        np.where(prob >= settings.review, "review", "non_match"),
    )
    decision = np.where(npi_eq, "merge", decision)
    decision = np.where(npi_ne & (decision == "merge"), "review", decision)

    pairs = pd.DataFrame(
        {
            "left": pd.Series([labels[i] for i in l_pos], dtype=object),
            "right": pd.Series([labels[i] for i in r_pos], dtype=object),
            "right_is_golden": pd.Series(r_pos >= n, dtype=bool),
            "blocking_rule": pd.Series(cand["rule"].tolist(), dtype=object),
            "match_probability": pd.Series(prob, dtype=float),
            "match_weight": pd.Series(weight, dtype=float),
            "decision": pd.Series(decision.tolist(), dtype=object),
            "explanation": pd.Series(parts, dtype=object),
        },
        columns=list(PAIR_COLUMNS),
    )
    clusters, provider_ids = _cluster(n, labels, l_pos, r_pos, prob, decision, records.index)
    return LinkResult(pairs=pairs, clusters=clusters, provider_ids=provider_ids)


def _cluster(
    n: int,
    labels: list[Any],
    l_pos: np.ndarray,
    r_pos: np.ndarray,
    prob: np.ndarray,
    decision: np.ndarray,
    index: pd.Index,
) -> tuple[pd.Series, pd.Series]:
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    merged = decision == "merge"
    for left, right, p in zip(l_pos[merged], r_pos[merged], prob[merged], strict=True):
        graph.add_edge(int(left), int(right), p=float(p))
    cluster = np.zeros(n, dtype="int64")
    provider: list[Any] = [None] * n
    comps = sorted(
        (sorted(c) for c in nx.connected_components(graph) if min(c) < n), key=lambda c: c[0]
    )
    for cid, comp in enumerate(comps):
        recs = [v for v in comp if v < n]
        gold = [v for v in comp if v >= n]
        best = None
        if gold:
            best = max(gold, key=lambda g: max(d["p"] for _, _, d in graph.edges(g, data=True)))
        for v in recs:
            cluster[v] = cid
            provider[v] = labels[best] if best is not None else None
    return (
        pd.Series(cluster, index=index, name="cluster"),
        pd.Series(provider, index=index, name="provider_id", dtype=object),
    )
