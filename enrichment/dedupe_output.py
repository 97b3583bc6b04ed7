"""What ``prm dedupe`` writes, and how good a chosen threshold is expected to be.

Outputs in the chosen directory:

* ``clusters.csv``: ``source``, ``record_id``, ``cluster_id``;
* ``pairs.csv`` (or ``pairs.parquet``): every scored candidate pair whose match
  probability reaches ``min_probability`` (by default all of them, so a user
  picks a threshold from the file), with its weight, probability, decision,
  blocking rule and comparison levels (``level_<comparison>``: 0 the most
  similar level, ``-1`` a missing side, ``-2`` not a comparison of the pair's
  entity type);
* ``cluster_pairs.csv``: every pair of records that share a cluster, however
  they were joined (identifier stars, chains of merges).

With labels (:func:`threshold_quality`) the report gains the precision and
recall expected at the threshold: exact with a truth column, estimated from a
clerical sample of labelled pairs otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InputError, Problem
from core.text import header_key

#: Pair-file formats ``prm dedupe`` writes.
PAIR_FORMATS = ("csv", "parquet")


def _pair_rows(frame: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    left, right = pairs["left_pos"].to_numpy(), pairs["right_pos"].to_numpy()
    level_cols = [c for c in pairs.columns if c.startswith("level_")]
    return pd.DataFrame(
        {
            "left_source": frame["source"].to_numpy()[left],
            "left_id": frame["record_id"].to_numpy()[left],
            "right_source": frame["source"].to_numpy()[right],
            "right_id": frame["record_id"].to_numpy()[right],
            "blocking_rule": pairs["blocking_rule"].astype(str).to_numpy(),
            "match_weight": pairs["match_weight"].round(3).to_numpy(),
            "match_probability": pairs["match_probability"].round(6).to_numpy(),
            "decision": pairs["decision"].astype(str).to_numpy(),
            **{c: pairs[c].to_numpy() for c in level_cols},
        }
    )


def cluster_pairs(clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(left, right)``, ``left < right``, of every pair sharing a cluster."""
    order = np.argsort(clusters, kind="stable")
    sorted_ids = clusters[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    lefts, rights = [], []
    for start, size in zip(starts[sizes > 1], sizes[sizes > 1], strict=True):
        members = np.sort(order[start : start + size])
        i, j = np.triu_indices(size, k=1)
        lefts.append(members[i])
        rights.append(members[j])
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(lefts), np.concatenate(rights)


def write_outputs(
    frame: pd.DataFrame,
    pairs: pd.DataFrame,
    clusters: np.ndarray,
    out_dir: Path,
    *,
    min_probability: float = 0.0,
    pair_format: str = "csv",
) -> dict[str, str]:
    """Write the clusters, the scored pairs at or above ``min_probability`` and the
    cluster pairs; returns their paths by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "clusters": out_dir / "clusters.csv",
        "pairs": out_dir / f"pairs.{pair_format}",
        "cluster_pairs": out_dir / "cluster_pairs.csv",
    }
    pd.DataFrame(
        {
            "source": frame["source"].to_numpy(),
            "record_id": frame["record_id"].to_numpy(),
            "cluster_id": clusters,
        }
    ).to_csv(paths["clusters"], index=False)
    kept = _pair_rows(frame, pairs[pairs["match_probability"] >= min_probability])
    if pair_format == "parquet":
        kept.to_parquet(paths["pairs"], index=False)
    else:
        kept.to_csv(paths["pairs"], index=False)
    left, right = cluster_pairs(clusters)
    pd.DataFrame(
        {
            "left_source": frame["source"].to_numpy()[left],
            "left_id": frame["record_id"].to_numpy()[left],
            "right_source": frame["source"].to_numpy()[right],
            "right_id": frame["record_id"].to_numpy()[right],
            "cluster_id": clusters[left],
        }
    ).to_csv(paths["cluster_pairs"], index=False)
    return {name: str(path) for name, path in paths.items()}


def _rates(hit: int, predicted: int, actual: int) -> dict[str, float | None]:
    precision = hit / predicted if predicted else None
    recall = hit / actual if actual else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall > 0
        else None
    )
    return {"precision": precision, "recall": recall, "f1": f1}


def _key(frame: pd.DataFrame, left: np.ndarray, right: np.ndarray) -> pd.Index:
    """Unordered record-pair keys, comparable across files."""
    ids = (frame["source"].astype(str) + "\x1f" + frame["record_id"].astype(str)).to_numpy()
    a, b = ids[left], ids[right]
    return pd.Index(np.where(a < b, a + "\x1e" + b, b + "\x1e" + a))


def truth_quality(
    frame: pd.DataFrame, pairs: pd.DataFrame, clusters: np.ndarray, *, threshold: float
) -> dict[str, Any]:
    """Exact pair precision / recall / F1 against the mapping's truth column: of the pairs
    scored at or above ``threshold``, and of the clusters."""
    truth = pd.factorize(frame["truth"].astype(str))[0]
    t_left, t_right = cluster_pairs(truth)
    true_keys = _key(frame, t_left, t_right)
    above = pairs[pairs["match_probability"] >= threshold]
    scored = _key(frame, above["left_pos"].to_numpy(), above["right_pos"].to_numpy())
    c_left, c_right = cluster_pairs(np.asarray(clusters))
    clustered = _key(frame, c_left, c_right)
    return {
        "threshold": threshold,
        "labels": "truth column",
        "pairs": _rates(len(scored.intersection(true_keys)), len(scored), len(true_keys)),
        "clusters": _rates(len(clustered.intersection(true_keys)), len(clustered), len(true_keys)),
    }


def sample_quality(
    frame: pd.DataFrame, pairs: pd.DataFrame, labels: pd.DataFrame, *, threshold: float
) -> dict[str, Any]:
    """Precision and recall at ``threshold`` estimated from a clerical sample.

    ``labels``: ``left_id``, ``right_id``, ``match`` (1/0, true/false, yes/no) and,
    when several files are linked, ``left_source`` / ``right_source``. A labelled
    pair that blocking never proposed counts as scored 0.
    """
    single = frame["source"].iloc[0] if len(frame) else ""
    ids = {
        (s, r): i
        for i, (s, r) in enumerate(zip(frame["source"].astype(str), frame["record_id"].astype(str)))
    }

    def position(side: str) -> np.ndarray:
        src = labels.get(f"{side}_source", pd.Series(single, index=labels.index)).astype(str)
        rid = labels[f"{side}_id"].astype(str)
        return np.array([ids.get(k, -1) for k in zip(src, rid)], dtype=np.int64)

    left, right = position("left"), position("right")
    known = (left >= 0) & (right >= 0)
    keys = _key(frame, left[known], right[known])
    prob = pd.Series(
        pairs["match_probability"].to_numpy(),
        index=_key(frame, pairs["left_pos"].to_numpy(), pairs["right_pos"].to_numpy()),
    )
    prob = prob[~prob.index.duplicated()]
    p = prob.reindex(keys).fillna(0.0).to_numpy()
    match = (
        labels["match"][known].astype(str).str.strip().str.lower().isin({"1", "true", "yes", "y"})
    )
    above, is_match = p >= threshold, match.to_numpy()
    return {
        "threshold": threshold,
        "labels": f"clerical sample of {int(known.sum())} pairs ({int(is_match.sum())} matches)",
        "unknown_records": int((~known).sum()),
        "pairs": _rates(int((above & is_match).sum()), int(above.sum()), int(is_match.sum())),
    }


def read_labels(path: Path) -> pd.DataFrame:
    """A clerical sample (:func:`sample_quality`'s ``labels``), checked.

    Raises
    ------
    InputError
        Unreadable file, or required columns absent (listed with the columns found).
    """
    try:
        labels = pd.read_csv(path, dtype=str)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read labels {path.name}: {exc}", problems=[Problem(str(exc), file=path.name)]
        ) from exc
    labels.columns = [header_key(str(c)) for c in labels.columns]
    missing = [c for c in ("left_id", "right_id", "match") if c not in labels.columns]
    if missing:
        found = ", ".join(labels.columns)
        raise InputError(
            f"labels {path.name} lack columns; its columns are {found}",
            problems=[Problem("column missing", file=path.name, field=c) for c in missing],
        )
    return labels
