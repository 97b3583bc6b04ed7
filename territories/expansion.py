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
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse

from core.checks import whole_number
from core.errors import Problem, TerritoryError

__all__ = [
    "ADDS_NOTHING",
    "GREEDY_GUARANTEE",
    "OFF_NETWORK",
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

ILP_GUARANTEE = "exact: integer programme solved to optimality (CBC)"

#: Why a candidate was left unpicked (:attr:`Selection.unpicked`).
ADDS_NOTHING = "adds nothing"
OFF_NETWORK = "off the road network"


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
    unpicked
        Candidates never worth a pick, with the reason: :data:`OFF_NETWORK`
        (told by the caller: the router could not place it on a road), or
        :data:`ADDS_NOTHING` (no white space beyond the chosen ones). A pick
        of zero gain is never made, so ``chosen`` may be shorter than asked.
    """

    chosen: list
    added: float
    method: str
    optimal: bool
    guarantee: str
    marginal: list[float] = field(default_factory=list)
    unpicked: dict = field(default_factory=dict)


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


def _useful(a: scipy.sparse.csr_matrix, w: np.ndarray, rows: list[int]) -> tuple[list, list]:
    """``rows`` without those adding nothing over the kept ones before them; their marginals.

    Dropping a row of zero marginal gain changes no covered demand (its weighted
    cells were covered already), so the value of the selection is the same.
    """
    kept: list[int] = []
    marginal: list[float] = []
    before = 0.0
    for j in rows:
        now = _value(a, w, [*kept, j])
        if now - before > 1e-9:
            kept.append(j)
            marginal.append(now - before)
            before = now
    return kept, marginal


def _finish(
    ids: list,
    a: scipy.sparse.csr_matrix,
    w: np.ndarray,
    rows: list[int],
    off_network: set,
    **how: object,
) -> Selection:
    """The selection of ``rows`` (idle picks dropped) with the reason of every one left out."""
    kept, marginal = _useful(a, w, rows)
    covered = np.asarray(a[kept].sum(axis=0)).ravel() > 0 if kept else np.zeros(w.size, bool)
    rest = np.where(covered, 0.0, w)
    gains = a @ rest
    unpicked = dict.fromkeys(off_network, OFF_NETWORK)
    for j, c in enumerate(ids):
        if j not in kept and c not in unpicked and gains[j] <= 1e-9:
            unpicked[c] = ADDS_NOTHING
    return Selection(
        [ids[j] for j in kept],
        float(sum(marginal)),
        marginal=marginal,
        unpicked=unpicked,
        **how,  # type: ignore[arg-type]
    )


def _greedy(
    ids: list, a: scipy.sparse.csr_matrix, w: np.ndarray, pick: int
) -> tuple[list[int], list[float]]:
    """Rows picked greedily (largest marginal gain each time, none of zero gain), their gains."""
    remaining = w.copy()
    chosen: list[int] = []
    marginal: list[float] = []
    for _ in range(min(pick, len(ids))):
        gains = a @ remaining
        gains[chosen] = -1.0
        j = int(np.argmax(gains))
        if gains[j] <= 1e-9:  # every one left adds nothing: no pick of zero gain
            break
        chosen.append(j)
        marginal.append(float(gains[j]))
        remaining[a.indices[a.indptr[j] : a.indptr[j + 1]]] = 0.0
    return chosen, marginal


def _ilp(
    ids: list, a: scipy.sparse.csr_matrix, w: np.ndarray, pick: int, time_limit: float
) -> list[int] | None:
    """Rows of a proven optimal pick (None without one in time); idle ones dropped after."""
    import pulp

    with warnings.catch_warnings():  # PuLP 3 announces its 4.0 API; CBC is bundled with 3.x
        warnings.simplefilter("ignore", DeprecationWarning)
        prob = pulp.LpProblem("max_coverage", pulp.LpMaximize)
        x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(len(ids))]
        y = [pulp.LpVariable(f"y{i}", lowBound=0, upBound=1) for i in range(w.size)]
        prob += pulp.lpSum(float(w[i]) * y[i] for i in range(w.size))
        prob += pulp.lpSum(x) <= min(pick, len(ids))
        a_csc = a.tocsc()
        for i in range(w.size):
            rows = a_csc.indices[a_csc.indptr[i] : a_csc.indptr[i + 1]]
            prob += y[i] <= pulp.lpSum(x[j] for j in rows)
        status = prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    if pulp.LpStatus[status] != "Optimal":
        return None
    return [j for j in range(len(ids)) if (x[j].value() or 0) > 0.5]


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
    off_network: Collection = (),
) -> Selection:
    """The ``pick`` candidates adding the most white space together, none of zero gain.

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
    off_network
        Candidates the router could not place on a road (farther than its
        ``max_snap_m``): never picked, and listed as such in ``unpicked``.

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
    if method == "brute_force":
        return brute_force_best(
            candidate_cells,
            existing_cells,
            demand,
            pick=pick,
            measure=measure,
            off_network=off_network,
        )
    off = set(off_network)
    ids, a, w = _pickable(candidate_cells, existing_cells, demand[measure], off)
    if method == "ilp" or (method == "auto" and a.nnz <= max_ilp_pairs):
        found = _ilp(ids, a, w, int(pick), time_limit) if ids else None
        if found is not None:
            how = {"method": "ilp", "optimal": True}
            return _finish(ids, a, w, found, off, **how, guarantee=ILP_GUARANTEE)
    rows, _ = _greedy(ids, a, w, int(pick))
    return _finish(ids, a, w, rows, off, method="greedy", optimal=False, guarantee=GREEDY_GUARANTEE)


def _pickable(
    candidate_cells: pd.DataFrame, existing_cells: object, demand: pd.Series, off: set
) -> tuple[list, scipy.sparse.csr_matrix, np.ndarray]:
    """:func:`_matrix` of the candidates that are not off the road network."""
    existing = np.unique(np.asarray(existing_cells, dtype="int64"))
    on = candidate_cells[~candidate_cells["candidate_id"].isin(off)]
    return _matrix(on, existing, pd.to_numeric(demand).astype("float64"))


def brute_force_best(
    candidate_cells: pd.DataFrame,
    existing_cells: object,
    demand: pd.DataFrame,
    *,
    pick: int,
    measure: str,
    off_network: Collection = (),
) -> Selection:
    """Every combination of ``pick`` candidates tried (``math.comb(M, pick)`` of them)."""
    _check(candidate_cells, demand, measure)
    off = set(off_network)
    ids, a, w = _pickable(candidate_cells, existing_cells, demand[measure], off)
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
    how = {"method": "brute_force", "optimal": True, "guarantee": "exact: every combination tried"}
    return _finish(ids, a, w, best_rows, off, **how)
