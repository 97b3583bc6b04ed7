"""Clusters from merge pairs under must-link and cannot-link constraints.

Clusters are the connected components of the merge graph
(:func:`scipy.sparse.csgraph.connected_components`). A component that breaks a
constraint — two records a reviewer rejected (or unmerged), or two different
values of one exact identifier (two NPIs, two RPPS numbers) — is rebuilt
greedily: its edges are added strongest first (must-links before any other)
with a union-find that refuses an edge joining two groups in conflict (a
reviewer's accept still joins two identifiers; a reject always holds). Only
the few conflicting components go through this Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


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
) -> dict[int, int]:
    """Greedy constrained union-find over one component; returns member -> root."""
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
    bad = _conflicted(labels, cl, cr, identifiers)
    if bad:
        labels = labels.copy()
        cannot = {(min(a, b), max(a, b)) for a, b in zip(cl.tolist(), cr.tolist())}
        next_label = int(labels.max()) + 1
        edge_label = labels[left]
        for comp in sorted(bad):
            members = np.flatnonzero(labels == comp)
            sel = edge_label == comp
            roots = _rebuild(
                members, left[sel], right[sel], np.asarray(strength)[sel], cannot, identifiers
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
