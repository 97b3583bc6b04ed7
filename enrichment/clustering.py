"""Clusters from merge pairs under must-link and cannot-link constraints.

Clusters are the connected components of the merge graph
(:func:`scipy.sparse.csgraph.connected_components`). A component that breaks a
constraint — two records a reviewer rejected (or unmerged), or two different
values of one exact identifier (two NPIs, two RPPS numbers) — is rebuilt
greedily: its edges are added strongest first (must-links before any other)
with a union-find that refuses an edge joining two groups in conflict (a
reviewer's accept still joins two identifiers; a reject always holds). Only
the few conflicting components go through this Python loop.

Pairs the model finds clear non-matches (``separate``, see
:func:`enrichment.linker.link_records`) are constraints of the same kind, but
only on the model's own merges: a chain of merges through a record missing
what tells two people apart (a date of birth) does not join them, while a
reviewer's accept (a must-link) or an existing cluster still does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def member_pairs(
    labels: np.ndarray, *, min_size: int, max_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(left, right)``, ``left < right``, of every pair of records sharing a
    cluster of ``min_size`` to ``max_size`` records (grouped by size, no Python loop per
    cluster)."""
    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels, minlength=1)
    size_of = sizes[labels]
    keep = np.flatnonzero((size_of >= min_size) & (size_of <= max_size))
    order = keep[np.lexsort((keep, labels[keep]))]  # by cluster, then position
    lefts, rights = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    sorted_sizes = size_of[order]
    for k in np.unique(sorted_sizes).tolist():
        members = order[sorted_sizes == k].reshape(-1, k)  # one row per cluster of k records
        a, b = np.triu_indices(k, k=1)
        lefts.append(members[:, a].ravel())
        rights.append(members[:, b].ravel())
    return np.concatenate(lefts), np.concatenate(rights)


def _conflicted(
    labels: np.ndarray,
    cannot_left: np.ndarray,
    cannot_right: np.ndarray,
    identifiers: Sequence[np.ndarray],
) -> set[int]:
    bad = set(labels[cannot_left][labels[cannot_left] == labels[cannot_right]].tolist())
    for codes in identifiers:
        has = codes >= 0
        if not has.any():
            continue
        per = pd.DataFrame({"c": labels[has], "v": codes[has]}).groupby("c")["v"].nunique()
        bad |= set(per.index[per > 1].tolist())
    return bad


def _rebuild(
    members: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    strength: np.ndarray,
    cannot: set[tuple[int, int]],
    identifiers: Sequence[np.ndarray],
    apart: Set[tuple[int, int]] = frozenset(),
    model: np.ndarray | None = None,
    evidence: Mapping[tuple[int, int], float] | None = None,
) -> dict[int, int]:
    """Greedy constrained union-find over one component; returns member -> root.

    An edge ``model`` marks (a model's merge) joining two groups with an ``apart``
    pair between them joins them only if the ``evidence`` of all pairs between
    them adds up to at least 0."""
    evidence = evidence or {}
    parent = {int(v): int(v) for v in members}
    group = {int(v): [int(v)] for v in members}
    ids = {int(v): [{int(c[v])} if c[v] >= 0 else set() for c in identifiers] for v in members}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in np.argsort(-strength, kind="stable"):
        a, b = find(int(left[i])), find(int(right[i]))
        if a == b:
            continue
        manual = np.isinf(strength[i])  # a reviewer's accept outranks identifiers
        if not manual and any(len(x) and len(y) and x != y for x, y in zip(ids[a], ids[b])):
            continue
        if any((min(p, q), max(p, q)) in cannot for p in group[a] for q in group[b]):
            continue
        if apart and (model is None or model[i]):
            between = [(min(p, q), max(p, q)) for p in group[a] for q in group[b]]
            if any(k in apart for k in between) and sum(evidence.get(k, 0.0) for k in between) < 0:
                continue
        if len(group[a]) < len(group[b]):
            a, b = b, a
        parent[b] = a
        group[a] += group.pop(b)
        ids[a] = [x | y for x, y in zip(ids[a], ids.pop(b))]
    return {v: find(v) for v in parent}


def cluster_records(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    strength: np.ndarray,
    *,
    cannot_link: tuple[np.ndarray, np.ndarray] | None = None,
    identifiers: Sequence[np.ndarray] = (),
    separate: tuple[np.ndarray, np.ndarray] | None = None,
    evidence: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    model_edges: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster id (0..k-1, numbered by first record) of each of ``n`` records.

    Parameters
    ----------
    n
        Number of records (positions ``0..n-1``).
    left, right, strength
        Merge edges and their strength (match weight; ``inf`` for must-links).
    cannot_link
        Record pairs that must not end in one cluster.
    identifiers
        Identifier codes per record (``-1`` missing), one array per kind: two
        different codes of a kind never end in one cluster.
    separate
        Record pairs the model finds clear non-matches: an edge ``model_edges``
        marks (all, if ``None``) joins two groups with such a pair between them
        only if the ``evidence`` of all the pairs between them adds up to at
        least 0; other edges (a reviewer's accept, an existing cluster) always do.
    evidence
        ``(left, right, bits)`` of scored pairs: positive for a merge, negative
        against (a pair not given counts 0).
    model_edges
        Per edge: whether it is one of the model's merges.
    """
    left = np.asarray(left, dtype=np.int64)
    right = np.asarray(right, dtype=np.int64)
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    cl = (
        np.zeros(0, dtype=np.int64) if cannot_link is None else np.asarray(cannot_link[0], np.int64)
    )
    cr = (
        np.zeros(0, dtype=np.int64) if cannot_link is None else np.asarray(cannot_link[1], np.int64)
    )
    sl, sr = (
        (np.zeros(0, np.int64), np.zeros(0, np.int64))
        if separate is None
        else (np.asarray(separate[0], np.int64), np.asarray(separate[1], np.int64))
    )
    bad = _conflicted(labels, np.concatenate([cl, sl]), np.concatenate([cr, sr]), identifiers)
    if bad:
        labels = labels.copy()
        cannot = {(min(a, b), max(a, b)) for a, b in zip(cl.tolist(), cr.tolist())}
        apart = {(min(a, b), max(a, b)) for a, b in zip(sl.tolist(), sr.tolist())}
        model = None if model_edges is None else np.asarray(model_edges, dtype=bool)
        bits = (
            {}
            if evidence is None
            else {
                (min(a, b), max(a, b)): float(w)
                for a, b, w in zip(*(np.asarray(x).tolist() for x in evidence))
            }
        )
        next_label = int(labels.max()) + 1
        edge_label = labels[left]
        for comp in sorted(bad):
            members = np.flatnonzero(labels == comp)
            sel = edge_label == comp
            roots = _rebuild(
                members,
                left[sel],
                right[sel],
                np.asarray(strength)[sel],
                cannot,
                identifiers,
                apart,
                None if model is None else model[sel],
                bits,
            )
            for root in sorted(set(roots.values())):
                group = [v for v, r in roots.items() if r == root]
                labels[group] = next_label
                next_label += 1
    _, dense = np.unique(labels, return_inverse=True)
    # renumber by first record so ids are stable for a given input order
    first = np.full(dense.max(initial=-1) + 1, n, dtype=np.int64)
    np.minimum.at(first, dense, np.arange(n))
    rank = np.empty_like(first)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[dense]
