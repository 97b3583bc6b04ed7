"""Liaison territories: contiguous, every cell once, locks honoured, balanced (hypothesis)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import TerritoryError
from geo.h3grid import grid_disk, latlng_to_cells
from territories.liaison import partition_territories, polsby_popper

CENTRE = int(latlng_to_cells(39.96, -83.0, 9)[0])


def h3_contiguous(cells: set[int]) -> bool:
    """Independent check: breadth-first search over H3 neighbours (grid_disk k=1)."""
    if not cells:
        return False
    start = next(iter(cells))
    seen, queue = {start}, [start]
    for c in queue:
        for nb in grid_disk(c, 1).tolist():
            if nb in cells and nb not in seen:
                seen.add(nb)
                queue.append(nb)
    return seen == cells


def connected_region(radius: int, drop: list[int]) -> np.ndarray:
    """A disk with some cells removed, reduced to the part connected to the centre."""
    disk = grid_disk(CENTRE, radius)
    keep = set(disk.tolist()) - {int(disk[i % disk.size]) for i in drop} | {CENTRE}
    seen, queue = {CENTRE}, [CENTRE]
    for c in queue:
        for nb in grid_disk(c, 1).tolist():
            if nb in keep and nb not in seen:
                seen.add(nb)
                queue.append(nb)
    return np.array(sorted(seen), dtype="int64")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    radius=st.integers(2, 7),
    drop=st.lists(st.integers(0, 10_000), max_size=40),
    k=st.integers(1, 6),
    weights=st.lists(st.floats(0, 50, allow_nan=False), min_size=1, max_size=20),
    lock_seed=st.integers(0, 10_000),
    n_locks=st.integers(0, 6),
)
def test_partition_properties(radius, drop, k, weights, lock_seed, n_locks):
    cells = connected_region(radius, drop)
    k = min(k, cells.size)
    w = np.resize(np.asarray(weights), cells.size)
    rng = np.random.default_rng(lock_seed)
    lock_cells = rng.choice(cells, size=min(n_locks, k), replace=False)
    locks = {int(c): i for i, c in enumerate(lock_cells)}  # at most one lock per territory
    plan = partition_territories(
        pd.DataFrame({"h3": cells, "weight": w}), k=k, locks=locks, max_seconds=2
    )
    # every cell exactly once
    assert sorted(plan.cells["h3"].tolist()) == cells.tolist()
    assert plan.cells["territory"].between(0, k - 1).all()
    # contiguous (checked independently of the algorithm's own adjacency), none empty
    for t in range(k):
        members = set(plan.cells.loc[plan.cells["territory"] == t, "h3"].tolist())
        assert h3_contiguous(members), f"territory {t} is not contiguous"
    assert plan.territories["contiguous"].all()
    # locks respected
    by_cell = dict(zip(plan.cells["h3"], plan.cells["territory"]))
    assert all(by_cell[c] == t for c, t in locks.items())
    assert plan.cells["locked"].sum() == len(locks)
    # report adds up
    assert plan.territories["load"].sum() == pytest.approx(w.sum())
    assert plan.territories["cells"].sum() == cells.size


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(2, 5))
def test_several_locks_per_territory_are_joined(seed, k):
    cells = grid_disk(CENTRE, 6)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(cells, size=2 * k, replace=False)
    locks = {int(c): i % k for i, c in enumerate(chosen)}
    try:
        plan = partition_territories(pd.DataFrame({"h3": cells, "weight": 1.0}), k=k, locks=locks)
    except TerritoryError as exc:  # other territories' locks can wall a lock off
        message = str(exc)
    else:
        message = None
    if message is not None:
        assert "cannot be joined" in message
        return
    by_cell = dict(zip(plan.cells["h3"], plan.cells["territory"]))
    assert all(by_cell[c] == t for c, t in locks.items())
    for t in range(k):
        assert h3_contiguous(set(plan.cells.loc[plan.cells["territory"] == t, "h3"].tolist()))


def test_uniform_disk_is_balanced_and_compact():
    cells = grid_disk(CENTRE, 20)  # 1,261 cells
    plan = partition_territories(
        pd.DataFrame({"h3": cells, "weight": 1.0}), k=6, liaisons=list("ABCDEF")
    )
    assert plan.balance is not None and plan.balance <= 1.02
    assert plan.territories["liaison"].tolist() == list("ABCDEF")
    assert plan.compactness > 0.4
    assert set(plan.cells["liaison"]) == set("ABCDEF")
    polys = plan.polygons()
    assert len(polys) == 6 and polys.geometry.is_valid.all()


def test_islands_are_bridged():
    west = grid_disk(CENTRE, 2)
    far = int(latlng_to_cells(39.96, -82.95, 9)[0])
    east = grid_disk(far, 2)
    cells = np.concatenate([west, east])
    plan = partition_territories(pd.DataFrame({"h3": cells, "weight": 1.0}), k=1)
    assert plan.territories["contiguous"].all() and plan.territories["cells"].iloc[0] == 38


def test_validation_lists_every_problem():
    cells = pd.DataFrame({"h3": [CENTRE, CENTRE], "weight": [1.0, -2.0]})
    with pytest.raises(TerritoryError) as e:
        partition_territories(cells, k=5, liaisons=["a", "a"], locks={123: 0})
    fields = {p.field for p in e.value.problems}
    assert {"h3", "weight", "k", "liaisons", "locks"} <= fields
    for k in (2.0, True, "2"):  # a TerritoryError naming k, not a TypeError
        with pytest.raises(TerritoryError) as e:
            partition_territories(cells, k=k)
        assert "k" in {p.field for p in e.value.problems}


def test_polsby_popper_by_hand():
    assert polsby_popper(1, 0) == pytest.approx(4 * np.pi * 3 * np.sqrt(3) / 2 / 36)
    # a straight line of n hexagons shares n-1 edges: compactness falls with length
    assert polsby_popper(2, 1) > polsby_popper(10, 9) > polsby_popper(50, 49)
