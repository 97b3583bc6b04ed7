"""Linkage quality against known truth, shared by the provider and person benchmarks.

Pair metrics count record pairs: a predicted clustering predicts every pair
inside a cluster, a scored-pair list predicts the pairs at or above a
threshold. Counting is done on group sizes (``n * (n - 1) / 2``), never by
listing pairs, so a million records cost a few group-bys.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _c2(k: np.ndarray) -> np.ndarray:
    k = np.asarray(k, dtype=np.int64)
    return k * (k - 1) // 2


def _prf(tp: float, pred: float, true: float) -> dict[str, float]:
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def true_pair_count(truth: np.ndarray) -> int:
    """Number of record pairs that are one entity."""
    return int(_c2(pd.Series(truth).value_counts().to_numpy()).sum())


def pair_metrics(pred: np.ndarray, truth: np.ndarray, ident: np.ndarray) -> dict[str, dict]:
    """Cluster pair metrics overall and on pairs sharing no identifier (``ident`` None = missing)."""
    df = pd.DataFrame({"p": pred, "t": truth, "i": pd.Series(ident, dtype=object)})
    tp = _c2(df.groupby(["p", "t"]).size()).sum()
    pp = _c2(df.groupby("p").size()).sum()
    tt = _c2(df.groupby("t").size()).sum()
    with_id = df.dropna(subset=["i"])
    # pairs sharing an identifier, inside predicted clusters / true clusters / both
    s_pp = _c2(with_id.groupby(["p", "i"]).size()).sum()
    s_tt = _c2(with_id.groupby(["t", "i"]).size()).sum()
    s_tp = _c2(with_id.groupby(["p", "t", "i"]).size()).sum()
    return {"all": _prf(tp, pp, tt), "no_identifier": _prf(tp - s_tp, pp - s_pp, tt - s_tt)}


def cluster_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Exact-cluster precision and recall."""
    df = pd.DataFrame({"p": pred, "t": truth})
    cells = df.groupby(["p", "t"]).size().rename("n").reset_index()
    sizes_p = df.groupby("p").size()
    sizes_t = df.groupby("t").size()
    exact = cells[
        (cells["n"].to_numpy() == sizes_p.loc[cells["p"]].to_numpy())
        & (cells["n"].to_numpy() == sizes_t.loc[cells["t"]].to_numpy())
    ]
    return {"precision": len(exact) / len(sizes_p), "recall": len(exact) / len(sizes_t)}


def scored_pairs_at(
    prob: np.ndarray, same: np.ndarray, *, n_true: int, threshold: float
) -> dict[str, float]:
    """Pair precision / recall / F1 of the scored pairs with probability ``>= threshold``.

    Parameters
    ----------
    prob
        Match probability of each scored pair (each unordered pair once).
    same
        Whether the pair is truly one entity.
    n_true
        All true pairs (:func:`true_pair_count`), scored or not: a pair the
        tool never scored counts as missed.
    threshold
        Pairs at or above it are predicted matches.
    """
    kept = prob >= threshold
    return _prf(float(same[kept].sum()), float(kept.sum()), float(n_true))


def best_pair_threshold(prob: np.ndarray, same: np.ndarray, *, n_true: int) -> dict[str, float]:
    """The threshold over the scored pairs that maximises pair F1, with its P/R/F1.

    Every distinct probability is a candidate (a sort and two cumulative sums),
    so the optimum is exact for the pairs given; pairs a tool did not write
    (below its output floor) can only be missed, never recovered.
    """
    if len(prob) == 0:
        return {"threshold": float("nan"), **_prf(0.0, 0.0, float(n_true))}
    order = np.argsort(-prob, kind="stable")
    p_sorted = prob[order]
    tp = np.cumsum(same[order])
    # the last index of each run of equal probabilities: a threshold keeps the whole run
    last = np.flatnonzero(np.r_[p_sorted[1:] != p_sorted[:-1], True])
    kept = last + 1
    f1 = 2 * tp[last] / (kept + n_true)
    k = int(np.argmax(f1))
    return {
        "threshold": float(p_sorted[last[k]]),
        **_prf(float(tp[last[k]]), float(kept[k]), n_true),
    }


def components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` records linked by the given pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def best_cluster_threshold(
    left: np.ndarray,
    right: np.ndarray,
    prob: np.ndarray,
    truth: np.ndarray,
    *,
    candidates: Sequence[float],
) -> dict[str, float]:
    """Among ``candidates``, the threshold whose connected components have the best pair F1.

    Components of the pairs at or above a threshold are what Splink's
    ``cluster_pairwise_predictions_at_threshold`` returns, so both tools'
    scores are clustered the same way here.
    """
    best: dict[str, float] = {"threshold": float("nan"), "f1": -1.0}
    ident = np.full(len(truth), None, dtype=object)
    for t in sorted(set(candidates)):
        keep = prob >= t
        labels = components(len(truth), left[keep], right[keep])
        m = pair_metrics(labels, truth, ident)["all"]
        if m["f1"] > best["f1"]:
            best = {"threshold": float(t), **m}
    return best
