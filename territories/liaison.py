"""Liaison territories: K contiguous, balanced groups of H3 cells.

:func:`partition_territories` splits a region's cells into ``k`` territories
balanced on a per-cell measure (prospect potential, providers, workload ...):

1. **Adjacency**: cells touching in the H3 grid. Where the region's cells
   fall apart into islands, each smaller island is *bridged* to its nearest
   cell elsewhere, so a territory may span a gap (a river, a park) through
   such a bridge; bridged cells never move in step 5.
2. **Locks**: locked cells stay in their territory. When one territory's
   locked cells are not adjacent, they are joined first by a shortest chain
   of free cells (an error names the territory if other territories' locks
   make that impossible).
3. **Seeds**: a weighted k-means of the cell centres; clusters are matched
   to locked territories by centroid distance (Hungarian assignment) and the
   other territories start from the cell nearest their cluster centre.
4. **Growth**: the territory with the lowest load so far takes its next
   frontier cell (nearest its centre first), until every cell is taken. Each
   territory grows from connected cells, so it is contiguous.
5. **Balancing**: boundary cells move from a heavier to an adjacent lighter
   territory whenever that lowers the sum of squared loads, and only if the
   cell's neighbours in its territory form one unbroken run around it (so
   the donor stays contiguous); until no move helps or ``max_seconds``.

The report gives each territory's load, cells and compactness
(Polsby-Popper ``4 pi A / P^2`` from counted hexagon edges: 0.91 for one
hexagon, lower for straggly shapes), the balance ``max/min`` of loads and the
contiguity check of the result.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from core.checks import whole_number
from core.errors import Problem, TerritoryError
from geo.h3grid import cell_to_latlng, cells_to_geometry, ring_neighbours

__all__ = ["TerritoryPlan", "partition_territories", "polsby_popper"]

_HEX_AREA = 3.0 * math.sqrt(3.0) / 2.0  # regular hexagon area in units of edge^2


@dataclass(frozen=True, eq=False)
class TerritoryPlan:
    """The result of :func:`partition_territories`.

    Attributes
    ----------
    cells
        ``h3``, ``territory`` (0-based), ``liaison``, ``weight``, ``locked``.
    territories
        One row per territory: ``territory``, ``liaison``, ``cells``, ``load``,
        ``share`` (of the total load), ``compactness``, ``contiguous``.
    balance
        Largest over smallest load; None when a territory has no load.
    compactness
        Mean Polsby-Popper compactness of the territories.
    moves
        Cells moved by the balancing step.
    """

    cells: pd.DataFrame
    territories: pd.DataFrame
    balance: float | None
    compactness: float
    moves: int

    def polygons(self) -> gpd.GeoDataFrame:
        """:attr:`territories` with each territory's outline, EPSG:4326."""
        groups = {t: g["h3"].to_numpy() for t, g in self.cells.groupby("territory")}
        geoms = [cells_to_geometry(groups[t]) for t in self.territories["territory"]]
        return gpd.GeoDataFrame(self.territories.copy(), geometry=geoms, crs="EPSG:4326")


def polsby_popper(n_cells: int, internal_edges: int) -> float:
    """Compactness of ``n_cells`` hexagons sharing ``internal_edges`` sides (0..0.91)."""
    perimeter = 6 * n_cells - 2 * internal_edges
    if n_cells <= 0 or perimeter <= 0:
        return 0.0
    return 4.0 * math.pi * n_cells * _HEX_AREA / perimeter**2


def _validate(
    cells: pd.DataFrame,
    k: int,
    weight: str,
    liaisons: Sequence[str] | None,
    locks: Mapping[int, int | str] | None,
) -> tuple[np.ndarray, np.ndarray, list[str], dict[int, int]]:
    problems = [Problem("missing column", field=c) for c in ("h3", weight) if c not in cells]
    if problems:
        raise TerritoryError("cells table lacks columns", problems=problems)
    h3 = cells["h3"].to_numpy(dtype="int64")
    w = pd.to_numeric(cells[weight], errors="coerce").to_numpy(dtype="float64")
    if pd.Series(h3).duplicated().any():
        problems.append(Problem("each cell must appear once", field="h3"))
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        problems.append(
            Problem(f"{int(bad.sum())} cell weight(s) missing or negative", field=weight)
        )
    n_terr = whole_number(k, field="k", problems=[])
    if n_terr is None or not 1 <= n_terr <= max(1, h3.size):
        problems.append(
            Problem(
                f"k must be a whole number between 1 and the number of cells ({h3.size})",
                field="k",
                value=str(k),
            )
        )
    if n_terr is None:  # the checks below need a whole k
        raise TerritoryError("cannot build territories", problems=problems)
    names = [f"Territory {i + 1}" for i in range(n_terr)] if liaisons is None else list(liaisons)
    if len(names) != n_terr:
        problems.append(Problem(f"{len(names)} liaison name(s) for k={k}", field="liaisons"))
    if len(set(names)) != len(names) or any(not str(n).strip() for n in names):
        problems.append(Problem("liaison names must be non-empty and distinct", field="liaisons"))
    index = {c: i for i, c in enumerate(h3.tolist())}
    lock_idx: dict[int, int] = {}
    for cell, target in (locks or {}).items():
        pos = index.get(int(cell), -1)
        if pos < 0:
            problems.append(
                Problem("locked cell is not in the region", field="locks", value=str(cell))
            )
            continue
        if isinstance(target, str):
            t = names.index(target) if target in names else -1
        else:  # a territory number, 0 .. k-1
            t = whole_number(target, field="locks", problems=[], ge=0, le=n_terr - 1)
        if t is None or t < 0:
            problems.append(
                Problem("lock names no territory", field="locks", value=f"{cell}: {target}")
            )
        else:
            lock_idx[int(pos)] = t
    if problems:
        raise TerritoryError("cannot build territories", problems=problems)
    return h3, w, [str(n) for n in names], lock_idx


def _xy_km(h3: np.ndarray) -> np.ndarray:
    lat, lon = cell_to_latlng(h3)
    lat0 = math.radians(float(lat.mean()))
    return np.column_stack([lon * 111.32 * math.cos(lat0), lat * 110.57])


def _adjacency(h3: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    """(ring (n,6) of indices or -1, neighbour lists incl. bridges, bridged mask)."""
    n = h3.size
    ring = pd.Index(h3).get_indexer(ring_neighbours(h3).ravel()).reshape(n, 6)
    src = np.repeat(np.arange(n), 6)[ring.ravel() >= 0]
    dst = ring.ravel()[ring.ravel() >= 0]
    nbrs: list[list[int]] = [[] for _ in range(n)]
    for a, b in zip(src.tolist(), dst.tolist()):
        nbrs[a].append(b)
    bridged = np.zeros(n, bool)
    while n > 1:
        graph = scipy.sparse.coo_matrix((np.ones(src.size), (src, dst)), shape=(n, n))
        count, label = connected_components(graph, directed=False)
        if count == 1:
            break
        sizes = np.bincount(label)
        small = int(np.argmin(sizes))
        inside = np.flatnonzero(label == small)
        outside = np.flatnonzero(label != small)
        d, j = cKDTree(xy[outside]).query(xy[inside], k=1)
        a = int(inside[int(np.argmin(d))])
        b = int(outside[int(j[int(np.argmin(d))])])
        nbrs[a].append(b)
        nbrs[b].append(a)
        bridged[[a, b]] = True
        src = np.append(src, [a, b])
        dst = np.append(dst, [b, a])
    return ring, nbrs, bridged


def _join_locks(
    terr: np.ndarray, locked: np.ndarray, nbrs: list[list[int]], names: list[str]
) -> list[Problem]:
    """Join each territory's separate locked cells with chains of free cells (in place)."""
    problems = []
    for t in np.unique(terr[terr >= 0]).tolist():
        start = int(np.flatnonzero(terr == t)[0])
        while True:
            comp = _component(start, nbrs, lambda i, t=t: terr[i] == t)
            if len(comp) == int((terr == t).sum()):
                break
            # breadth-first from the joined group through free cells to another group of t
            parent = dict.fromkeys(comp, -1)
            queue = list(comp)
            target = None
            for cur in queue:
                for nb in nbrs[cur]:
                    if nb in parent:
                        continue
                    if terr[nb] == t:
                        parent[nb] = cur
                        target = nb
                        break
                    if terr[nb] < 0:
                        parent[nb] = cur
                        queue.append(nb)
                if target is not None:
                    break
            if target is None:
                problems.append(
                    Problem(
                        "locked cells cannot be joined without crossing another territory's locks",
                        field="locks",
                        value=names[t],
                    )
                )
                break
            node = parent[target]
            while node != -1 and terr[node] < 0:
                terr[node] = t
                node = parent[node]
    return problems


def _component(start: int, nbrs: list[list[int]], keep) -> set[int]:  # noqa: ANN001
    seen = {start}
    queue = [start]
    for cur in queue:
        for nb in nbrs[cur]:
            if nb not in seen and keep(nb):
                seen.add(nb)
                queue.append(nb)
    return seen


def _seeds(xy: np.ndarray, w: np.ndarray, terr: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Centre (x, y) of every territory; free territories also get a seed cell (in place)."""
    from sklearn.cluster import KMeans

    n = xy.shape[0]
    km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(
        xy, sample_weight=w + max(float(w.sum()), 1.0) / n * 1e-3
    )
    centres = km.cluster_centers_.copy()
    fixed = [t for t in range(k) if (terr == t).any()]
    out = np.zeros((k, 2))
    free_clusters = list(range(k))
    if fixed:
        own = np.array([xy[terr == t].mean(axis=0) for t in fixed])
        cost = ((own[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols):
            out[fixed[r]] = own[r]
            free_clusters.remove(int(c))
    taken = terr >= 0
    for t in [t for t in range(k) if t not in fixed]:
        c = free_clusters.pop(0)
        d = ((xy - centres[c]) ** 2).sum(axis=1)
        d[taken] = np.inf
        i = int(np.argmin(d))
        terr[i] = t
        taken[i] = True
        out[t] = xy[i]
    return out


def _grow(
    terr: np.ndarray,
    w: np.ndarray,
    xy: np.ndarray,
    centres: np.ndarray,
    nbrs: list[list[int]],
    k: int,
) -> None:
    n = terr.size
    eps = max(float(w.sum()), 1.0) / n * 1e-3
    load = np.array([w[terr == t].sum() + eps * (terr == t).sum() for t in range(k)])
    heaps: list[list[tuple[float, int]]] = [[] for _ in range(k)]

    def push(i: int, t: int) -> None:
        for nb in nbrs[i]:
            if terr[nb] < 0:
                d = float(((xy[nb] - centres[t]) ** 2).sum())
                heapq.heappush(heaps[t], (d, nb))

    for i in np.flatnonzero(terr >= 0).tolist():
        push(i, int(terr[i]))
    left = int((terr < 0).sum())
    active = set(range(k))
    while left and active:
        t = min(active, key=lambda x: load[x])
        heap = heaps[t]
        while heap and terr[heap[0][1]] >= 0:
            heapq.heappop(heap)
        if not heap:
            active.discard(t)
            continue
        _, i = heapq.heappop(heap)
        terr[i] = t
        load[t] += w[i] + eps
        left -= 1
        push(i, t)


def _one_run(flags: np.ndarray) -> bool:
    """Whether the True entries of a cyclic sequence form one unbroken run."""
    starts = int((flags & ~np.roll(flags, 1)).sum())
    return starts <= 1


def _balance(
    terr: np.ndarray,
    w: np.ndarray,
    ring: np.ndarray,
    locked: np.ndarray,
    bridged: np.ndarray,
    k: int,
    deadline: float,
) -> int:
    n = terr.size
    src = np.repeat(np.arange(n), 6)
    dst = ring.ravel()
    ok = dst >= 0
    src, dst = src[ok], dst[ok]
    movable = ~locked[src] & ~bridged[src] & (w[src] > 0)
    src, dst = src[movable], dst[movable]
    load = np.bincount(terr, weights=w, minlength=k)
    count = np.bincount(terr, minlength=k)
    moves = 0
    while time.perf_counter() < deadline:
        ti, tj = terr[src], terr[dst]
        diff = load[ti] - load[tj] - w[src]
        cand = np.flatnonzero((ti != tj) & (diff > 1e-12))
        if cand.size == 0:
            break
        cand = cand[np.argsort(-(w[src[cand]] * diff[cand]), kind="stable")]
        applied = 0
        for e in cand[:2000].tolist():
            i, j = int(src[e]), int(dst[e])
            a, b = int(terr[i]), int(terr[j])
            if a == b or count[a] <= 1 or load[a] - load[b] - w[i] <= 1e-12:
                continue
            nb = ring[i]
            if not _one_run((nb >= 0) & (terr[np.maximum(nb, 0)] == a)):
                continue
            terr[i] = b
            load[a] -= w[i]
            load[b] += w[i]
            count[a] -= 1
            count[b] += 1
            applied += 1
        moves += applied
        if applied == 0:
            break
    return moves


def partition_territories(
    cells: pd.DataFrame,
    *,
    k: int,
    weight: str = "weight",
    liaisons: Sequence[str] | None = None,
    locks: Mapping[int, int | str] | None = None,
    max_seconds: float = 8.0,
    seed: int = 0,
) -> TerritoryPlan:
    """Split cells into ``k`` contiguous territories balanced on ``weight``.

    Parameters
    ----------
    cells
        One row per H3 cell (one resolution): ``h3`` and the ``weight`` column.
    k
        Number of territories.
    weight
        Column of the non-negative measure to balance.
    liaisons
        Names of the liaisons, one per territory (default "Territory 1" ...).
    locks
        Cell -> territory (0-based index or liaison name) for cells that must
        stay with a territory (locked accounts become locked cells).
    max_seconds
        Time budget of the balancing step.
    seed
        Random state of the k-means seeding (results are deterministic per seed).

    Returns
    -------
    TerritoryPlan

    Raises
    ------
    TerritoryError
        For invalid input (every problem listed) or locks that cannot all be
        honoured by contiguous territories.
    """
    started = time.perf_counter()
    h3, w, names, lock_idx = _validate(cells, k, weight, liaisons, locks)
    k = int(k)
    xy = _xy_km(h3)
    ring, nbrs, bridged = _adjacency(h3, xy)
    terr = np.full(h3.size, -1, "int64")
    locked = np.zeros(h3.size, bool)
    for i, t in lock_idx.items():
        terr[i] = t
        locked[i] = True
    problems = _join_locks(terr, locked, nbrs, names)
    if problems:
        raise TerritoryError(
            "locks cannot be honoured by contiguous territories", problems=problems
        )
    centres = _seeds(xy, w, terr, k, seed)
    _grow(terr, w, xy, centres, nbrs, k)
    moves = _balance(terr, w, ring, locked, bridged, k, started + max_seconds)
    return _report(h3, w, terr, locked, ring, nbrs, names, moves)


def _report(
    h3: np.ndarray,
    w: np.ndarray,
    terr: np.ndarray,
    locked: np.ndarray,
    ring: np.ndarray,
    nbrs: list[list[int]],
    names: list[str],
    moves: int,
) -> TerritoryPlan:
    k = len(names)
    load = np.bincount(terr, weights=w, minlength=k)
    count = np.bincount(terr, minlength=k)
    src = np.repeat(np.arange(h3.size), 6)
    dst = ring.ravel()
    same = (dst >= 0) & (terr[src] == terr[np.maximum(dst, 0)])
    internal = np.bincount(terr[src[same]], minlength=k) // 2
    contiguous = []
    for t in range(k):
        members = np.flatnonzero(terr == t)
        comp = (
            _component(int(members[0]), nbrs, lambda i, t=t: terr[i] == t)
            if members.size
            else set()
        )
        contiguous.append(len(comp) == members.size)
    total = float(load.sum())
    compact = [polsby_popper(int(c), int(e)) for c, e in zip(count, internal)]
    territories = pd.DataFrame(
        {
            "territory": np.arange(k),
            "liaison": names,
            "cells": count,
            "load": load,
            "share": load / total if total > 0 else np.full(k, 1.0 / k),
            "compactness": compact,
            "contiguous": contiguous,
        }
    )
    cells = pd.DataFrame(
        {
            "h3": h3,
            "territory": terr,
            "liaison": np.asarray(names)[terr],
            "weight": w,
            "locked": locked,
        }
    )
    balance = float(load.max() / load.min()) if load.min() > 0 else None
    return TerritoryPlan(cells, territories, balance, float(np.mean(compact)), moves)
