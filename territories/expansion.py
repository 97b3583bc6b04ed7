"""Expansion planning: what candidate sites would add, and the best N of M.

Coverage is by H3 cells: a candidate covers the cells of its drive-time
isochrone (:func:`territories.isochrones.site_isochrones`); existing sites
cover theirs. ``demand`` gives per cell the measures that matter (providers,
prospect potential ...).

* :func:`candidate_gains`: per candidate, the *white space* it would add
  (demand in its cells that no existing site covers) and its *cannibalisation*
  (demand in cells an existing site already covers), with the overlap per
  existing site in :func:`candidate_overlap`.
* :func:`best_candidates`: the ``pick`` candidates that together add the most
  white space — the maximal covering location problem. Solved exactly as an
  integer programme with PuLP (CBC) when the coverage matrix has at most
  ``max_ilp_pairs`` (candidate, cell) pairs; otherwise greedily, adding each
  time the candidate with the largest marginal white space, which is within a
  factor ``1 - 1/e`` (about 63 %) of the optimum because coverage is a
  monotone submodular function (Nemhauser, Wolsey & Fisher 1978).
* :func:`brute_force_best` checks every combination (small cases, tests).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse

from core.checks import whole_number
from core.errors import Problem, TerritoryError

__all__ = [
    "GREEDY_GUARANTEE",
    "Selection",
    "best_candidates",
    "brute_force_best",
    "candidate_gains",
    "candidate_overlap",
]

GREEDY_GUARANTEE = (
    "greedy: at least 1 - 1/e (63.2%) of the best possible added white space "
    "(maximal coverage is monotone submodular)"
)


@dataclass(frozen=True)
class Selection:
    """The candidates chosen by :func:`best_candidates`.

    Attributes
    ----------
    chosen
        Candidate ids in the order picked (greedy) or sorted (ILP).
    added
        White space (the measure) the chosen candidates add together.
    method
        ``"ilp"``, ``"greedy"`` or ``"brute_force"``.
    optimal
        Proven optimal (ILP solved to optimality, or brute force).
    guarantee
        What is known about the answer's quality, in words.
    marginal
        Added white space of each chosen candidate, in ``chosen`` order
        (greedy: its marginal gain when picked; ILP: in sorted order, each
        over the ones before it).
    """

    chosen: list
    added: float
    method: str
    optimal: bool
    guarantee: str
    marginal: list[float] = field(default_factory=list)


def _check(candidate_cells: pd.DataFrame, demand: pd.DataFrame, measure: str) -> None:
    problems = [
        Problem("missing column", field=c, file="candidate_cells")
        for c in ("candidate_id", "h3")
        if c not in candidate_cells
    ]
    if measure not in demand:
        problems.append(Problem("measure not in demand table", field=measure))
    elif (pd.to_numeric(demand[measure], errors="coerce").fillna(-1) < 0).any():
        problems.append(Problem("demand must be non-negative numbers", field=measure))
    if problems:
        raise TerritoryError("cannot evaluate candidates", problems=problems)


def candidate_gains(
    candidate_cells: pd.DataFrame,
    existing_cells: object,
    demand: pd.DataFrame,
) -> pd.DataFrame:
    """White space and cannibalisation of every candidate, for every measure.

    Parameters
    ----------
    candidate_cells
        ``candidate_id``, ``h3``: the cells each candidate would cover.
    existing_cells
        Cells already covered by existing sites (array-like of int64).
    demand
        Indexed by ``h3``; one numeric column per measure.

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``candidate_id``, ``cells``, ``new_cells``,
        ``overlap_cells``, and per measure ``M``: ``M_covered``,
        ``M_white_space`` (not covered by existing sites) and
        ``M_cannibalised`` (already covered).
    """
    measures = [c for c in demand.columns if pd.api.types.is_numeric_dtype(demand[c])]
    for m in measures:
        _check(candidate_cells, demand, m)
    existing = np.unique(np.asarray(existing_cells, dtype="int64"))
    cc = candidate_cells[["candidate_id", "h3"]].drop_duplicates()
    cc = cc.assign(existing=np.isin(cc["h3"].to_numpy(), existing))
    d = demand.reindex(cc["h3"].to_numpy()).fillna(0.0)
    for m in measures:
        vals = d[m].to_numpy(dtype="float64")
        cc[f"{m}_covered"] = vals
        cc[f"{m}_white_space"] = np.where(cc["existing"], 0.0, vals)
        cc[f"{m}_cannibalised"] = np.where(cc["existing"], vals, 0.0)
    agg = {"cells": ("h3", "size"), "overlap_cells": ("existing", "sum")}
    for m in measures:
        for part in ("covered", "white_space", "cannibalised"):
            agg[f"{m}_{part}"] = (f"{m}_{part}", "sum")
    out = cc.groupby("candidate_id", as_index=False, sort=False).agg(**agg)
    out.insert(2, "new_cells", out["cells"] - out["overlap_cells"])
    return out


def candidate_overlap(
    candidate_cells: pd.DataFrame, site_cells: pd.DataFrame, demand: pd.Series | None = None
) -> pd.DataFrame:
    """Cells (and demand) each candidate shares with each existing site.

    Returns
    -------
    pandas.DataFrame
        ``candidate_id``, ``site_id``, ``shared_cells`` and, with ``demand``,
        ``shared_demand``; pairs sharing nothing are left out.
    """
    joined = (
        candidate_cells[["candidate_id", "h3"]]
        .drop_duplicates()
        .merge(site_cells[["site_id", "h3"]].drop_duplicates(), on="h3")
    )
    if demand is not None:
        joined = joined.assign(d=demand.reindex(joined["h3"].to_numpy()).fillna(0.0).to_numpy())
    agg = {"shared_cells": ("h3", "size")}
    if demand is not None:
        agg["shared_demand"] = ("d", "sum")
    return joined.groupby(["candidate_id", "site_id"], as_index=False).agg(**agg)


def _matrix(
    candidate_cells: pd.DataFrame, existing: np.ndarray, demand: pd.Series
) -> tuple[list, scipy.sparse.csr_matrix, np.ndarray]:
    """(candidate ids, candidates x cells 0/1 matrix, white-space demand per cell)."""
    cc = candidate_cells[["candidate_id", "h3"]].drop_duplicates()
    cc = cc[~np.isin(cc["h3"].to_numpy(), existing)]
    ids = list(dict.fromkeys(candidate_cells["candidate_id"].tolist()))
    d = demand.reindex(cc["h3"].to_numpy()).fillna(0.0).to_numpy(dtype="float64")
    cc = cc[d > 0]
    cells, col = np.unique(cc["h3"].to_numpy(dtype="int64"), return_inverse=True)
    row = pd.Index(ids).get_indexer(cc["candidate_id"])
    a = scipy.sparse.csr_matrix((np.ones(row.size), (row, col)), shape=(len(ids), cells.size))
    a.data[:] = 1.0  # duplicates summed by the constructor
    weights = demand.reindex(cells).fillna(0.0).to_numpy(dtype="float64")
    return ids, a, weights


def _value(a: scipy.sparse.csr_matrix, w: np.ndarray, rows: list[int]) -> float:
    if not rows:
        return 0.0
    covered = np.asarray(a[rows].sum(axis=0)).ravel() > 0
    return float(w[covered].sum())


def _greedy(ids: list, a: scipy.sparse.csr_matrix, w: np.ndarray, pick: int) -> Selection:
    remaining = w.copy()
    chosen: list[int] = []
    marginal: list[float] = []
    for _ in range(min(pick, len(ids))):
        gains = a @ remaining
        gains[chosen] = -1.0
        j = int(np.argmax(gains))
        chosen.append(j)
        marginal.append(float(gains[j]))
        remaining[a.indices[a.indptr[j] : a.indptr[j + 1]]] = 0.0
    return Selection(
        [ids[j] for j in chosen], float(sum(marginal)), "greedy", False, GREEDY_GUARANTEE, marginal
    )


def _ilp(
    ids: list, a: scipy.sparse.csr_matrix, w: np.ndarray, pick: int, time_limit: float
) -> Selection | None:
    import pulp

    with warnings.catch_warnings():  # PuLP 3 announces its 4.0 API; CBC is bundled with 3.x
        warnings.simplefilter("ignore", DeprecationWarning)
        prob = pulp.LpProblem("max_coverage", pulp.LpMaximize)
        x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(len(ids))]
        y = [pulp.LpVariable(f"y{i}", lowBound=0, upBound=1) for i in range(w.size)]
        prob += pulp.lpSum(float(w[i]) * y[i] for i in range(w.size))
        prob += pulp.lpSum(x) == min(pick, len(ids))
        a_csc = a.tocsc()
        for i in range(w.size):
            rows = a_csc.indices[a_csc.indptr[i] : a_csc.indptr[i + 1]]
            prob += y[i] <= pulp.lpSum(x[j] for j in rows)
        status = prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    if pulp.LpStatus[status] != "Optimal":
        return None
    rows = [j for j in range(len(ids)) if (x[j].value() or 0) > 0.5]
    marginal, before = [], 0.0
    for n in range(1, len(rows) + 1):
        now = _value(a, w, rows[:n])
        marginal.append(now - before)
        before = now
    return Selection(
        [ids[j] for j in rows],
        _value(a, w, rows),
        "ilp",
        True,
        "exact: integer programme solved to optimality (CBC)",
        marginal,
    )


def best_candidates(
    candidate_cells: pd.DataFrame,
    existing_cells: object,
    demand: pd.DataFrame,
    *,
    pick: int,
    measure: str,
    method: str = "auto",
    max_ilp_pairs: int = 2_000_000,
    time_limit: float = 60.0,
) -> Selection:
    """The ``pick`` candidates adding the most white space together.

    Parameters
    ----------
    candidate_cells
        ``candidate_id``, ``h3``.
    existing_cells
        Cells existing sites already cover.
    demand
        Indexed by ``h3``, with the ``measure`` column.
    pick
        How many candidates to choose (N of M).
    measure
        Demand column to maximise.
    method
        ``"auto"`` (ILP when small enough, else greedy), ``"ilp"``,
        ``"greedy"`` or ``"brute_force"``.
    max_ilp_pairs
        Largest number of (candidate, cell) coverage pairs ``"auto"`` sends to
        the ILP.
    time_limit
        Seconds for the ILP solver; without a proven optimum in time the
        greedy answer is returned.

    Raises
    ------
    TerritoryError
        For invalid arguments (every problem listed).
    """
    _check(candidate_cells, demand, measure)
    problems: list[Problem] = []
    whole_number(pick, field="pick", problems=problems, ge=1)
    if method not in ("auto", "ilp", "greedy", "brute_force"):
        problems.append(Problem("unknown method", field="method", value=str(method)))
    if problems:
        raise TerritoryError("cannot choose candidates", problems=problems)
    existing = np.unique(np.asarray(existing_cells, dtype="int64"))
    ids, a, w = _matrix(candidate_cells, existing, pd.to_numeric(demand[measure]).astype("float64"))
    if method == "brute_force":
        return brute_force_best(candidate_cells, existing, demand, pick=pick, measure=measure)
    if method == "ilp" or (method == "auto" and a.nnz <= max_ilp_pairs):
        found = _ilp(ids, a, w, int(pick), time_limit) if ids else None
        if found is not None:
            return found
    return _greedy(ids, a, w, int(pick))


def brute_force_best(
    candidate_cells: pd.DataFrame,
    existing_cells: object,
    demand: pd.DataFrame,
    *,
    pick: int,
    measure: str,
) -> Selection:
    """Every combination of ``pick`` candidates tried (``math.comb(M, pick)`` of them)."""
    _check(candidate_cells, demand, measure)
    existing = np.unique(np.asarray(existing_cells, dtype="int64"))
    ids, a, w = _matrix(candidate_cells, existing, pd.to_numeric(demand[measure]).astype("float64"))
    if math.comb(len(ids), min(pick, len(ids))) > 1_000_000:
        raise TerritoryError(
            "too many combinations for brute force",
            problems=[Problem("use method 'ilp' or 'greedy'", field="method")],
        )
    best, best_rows = -1.0, []
    for rows in itertools.combinations(range(len(ids)), min(pick, len(ids))):
        v = _value(a, w, list(rows))
        if v > best + 1e-9:
            best, best_rows = v, list(rows)
    return Selection(
        [ids[j] for j in best_rows],
        max(best, 0.0),
        "brute_force",
        True,
        "exact: every combination tried",
        [],
    )
