"""Expansion planning: gains by hand, ILP = brute force, greedy within 1 - 1/e."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import TerritoryError
from territories.expansion import (
    ADDS_NOTHING,
    OFF_NETWORK,
    best_candidates,
    brute_force_best,
    candidate_gains,
    candidate_overlap,
)


def small_case():
    cc = pd.DataFrame(
        {"candidate_id": ["A", "A", "A", "B", "B", "C", "C", "C"], "h3": [1, 2, 3, 3, 4, 4, 5, 6]}
    )
    demand = pd.DataFrame(
        {"providers": [5.0, 1.0, 2.0, 7.0, 3.0, 3.0], "potential": [0.5, 0.1, 0.2, 0.7, 0.3, 0.3]},
        index=[1, 2, 3, 4, 5, 6],
    )
    return cc, demand


def test_gains_by_hand():
    cc, demand = small_case()
    g = candidate_gains(cc, [1, 9], demand).set_index("candidate_id")
    # A covers 1 (existing, 5), 2 (1), 3 (2): white space 3, cannibalised 5
    assert g.loc["A", ["cells", "new_cells", "overlap_cells"]].tolist() == [3, 2, 1]
    assert g.loc["A", "providers_white_space"] == 3.0 and g.loc["A", "providers_cannibalised"] == 5
    assert g.loc["C", "providers_white_space"] == 13.0 and g.loc[
        "C", "potential_covered"
    ] == pytest.approx(1.3)
    sites = pd.DataFrame({"site_id": ["S1", "S2"], "h3": [1, 4]})
    ov = candidate_overlap(cc, sites, demand["providers"])
    assert ov.to_dict("records") == [
        {"candidate_id": "A", "site_id": "S1", "shared_cells": 1, "shared_demand": 5.0},
        {"candidate_id": "B", "site_id": "S2", "shared_cells": 1, "shared_demand": 7.0},
        {"candidate_id": "C", "site_id": "S2", "shared_cells": 1, "shared_demand": 7.0},
    ]


def test_best_two_by_hand():
    cc, demand = small_case()
    # nothing covered: A=8, B=9, C=13; A+C = 21 (disjoint) beats B+C = 15 and A+B = 15
    for method in ("ilp", "greedy", "brute_force"):
        sel = best_candidates(cc, [], demand, pick=2, measure="providers", method=method)
        assert sorted(sel.chosen) == ["A", "C"] and sel.added == 21.0, method
    assert best_candidates(cc, [], demand, pick=2, measure="providers").method == "ilp"
    greedy = best_candidates(cc, [], demand, pick=2, measure="providers", max_ilp_pairs=0)
    assert greedy.method == "greedy" and "1 - 1/e" in greedy.guarantee
    assert greedy.marginal == [13.0, 8.0]


def test_invalid_arguments():
    cc, demand = small_case()
    with pytest.raises(TerritoryError) as e:
        best_candidates(cc, [], demand, pick=0, measure="providers", method="magic")
    assert len(e.value.problems) == 2
    with pytest.raises(TerritoryError):
        best_candidates(cc, [], demand, pick=1, measure="nope")


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(2, 8),
    pick=st.integers(1, 4),
    seed=st.integers(0, 100_000),
    existing=st.integers(0, 10),
)
def test_ilp_equals_brute_force_and_greedy_keeps_its_guarantee(m, pick, seed, existing):
    rng = np.random.default_rng(seed)
    cells = np.arange(100, 140)
    rows = [
        (f"c{j}", int(c))
        for j in range(m)
        for c in rng.choice(cells, size=int(rng.integers(1, 12)), replace=False)
    ]
    cc = pd.DataFrame(rows, columns=["candidate_id", "h3"])
    demand = pd.DataFrame({"providers": rng.integers(0, 9, cells.size).astype(float)}, index=cells)
    ex = cells[:existing]
    pick = min(pick, m)
    brute = brute_force_best(cc, ex, demand, pick=pick, measure="providers")
    ilp = best_candidates(cc, ex, demand, pick=pick, measure="providers", method="ilp")
    greedy = best_candidates(cc, ex, demand, pick=pick, measure="providers", method="greedy")
    assert ilp.optimal and ilp.added == pytest.approx(brute.added)
    assert len(ilp.chosen) <= pick and len(set(ilp.chosen)) == len(ilp.chosen)
    for sel in (brute, ilp, greedy):
        assert all(m > 0 for m in sel.marginal) and sum(sel.marginal) == pytest.approx(sel.added)
        if len(sel.chosen) < pick:  # a pick short: every one left adds nothing more
            left = set(cc["candidate_id"]) - set(sel.chosen)
            assert sel.unpicked == dict.fromkeys(left, ADDS_NOTHING)
    assert greedy.added >= (1 - 1 / math.e) * brute.added - 1e-9
    assert greedy.added <= brute.added + 1e-9


@pytest.mark.parametrize("method", ["ilp", "greedy", "brute_force"])
def test_a_candidate_adding_nothing_is_never_picked(method):
    # B reaches only what A reaches; C only a cell an existing site covers; D an empty cell
    cc = pd.DataFrame(
        {"candidate_id": ["A", "A", "B", "C", "D"], "h3": [1, 2, 1, 3, 4]}, dtype=object
    ).astype({"h3": "int64"})
    demand = pd.DataFrame({"providers": [5.0, 2.0, 9.0, 0.0]}, index=[1, 2, 3, 4])
    sel = best_candidates(cc, [3], demand, pick=3, measure="providers", method=method)
    assert sel.chosen == ["A"] and sel.added == 7.0 and sel.marginal == [7.0]
    assert sel.unpicked == {"B": ADDS_NOTHING, "C": ADDS_NOTHING, "D": ADDS_NOTHING}


@pytest.mark.parametrize("method", ["ilp", "greedy", "brute_force"])
def test_a_candidate_off_the_road_network_is_never_picked(method):
    cc, demand = small_case()
    # C alone would add the most (13); off the road network it is left out, and said so
    sel = best_candidates(
        cc, [], demand, pick=1, measure="providers", method=method, off_network=["C"]
    )
    assert sel.chosen == ["B"] and sel.unpicked == {"C": OFF_NETWORK}
