"""Connected components under cannot-link and identifier constraints."""

from __future__ import annotations

import numpy as np

from enrichment.clustering import cluster_records, member_pairs


def test_components_numbered_by_first_record():
    labels = cluster_records(5, np.array([3, 1]), np.array([4, 2]), np.array([5.0, 5.0]))
    assert labels.tolist() == [0, 1, 1, 2, 2]


def test_cannot_link_splits_on_the_weakest_edge():
    # chain 0-1 (strong) 1-2 (weak); 0 and 2 rejected together
    labels = cluster_records(
        3,
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([10.0, 1.0]),
        cannot_link=(np.array([0]), np.array([2])),
    )
    assert labels[0] == labels[1] != labels[2]


def test_two_identifiers_never_share_a_cluster_unless_accepted():
    npi = [np.array([7, -1, 8])]
    left, right = np.array([0, 1]), np.array([1, 2])
    labels = cluster_records(3, left, right, np.array([3.0, 9.0]), identifiers=npi)
    assert labels[0] != labels[2] and labels[1] == labels[2]
    accepted = cluster_records(3, left, right, np.array([np.inf, np.inf]), identifiers=npi)
    assert len(set(accepted.tolist())) == 1


def test_member_pairs_lists_each_pair_of_a_cluster_once():
    labels = np.array([0, 1, 0, 2, 0, 1, 3, 3, 3, 3])
    left, right = member_pairs(labels, min_size=3, max_size=3)
    assert sorted(zip(left.tolist(), right.tolist())) == [(0, 2), (0, 4), (2, 4)]
    left, _ = member_pairs(labels, min_size=2, max_size=10)
    assert len(left) == 3 + 1 + 6


def test_a_clear_non_match_is_not_chained_by_the_models_merges():
    # 1 merges with 0 and with 2 (it lacks what tells them apart); 0-2 is a clear non-match
    left, right, strength = np.array([0, 1]), np.array([1, 2]), np.array([6.0, 5.0])
    apart = (np.array([0]), np.array([2]))
    evidence = (np.array([0, 1, 0]), np.array([1, 2, 2]), np.array([6.0, 5.0, -20.0]))
    labels = cluster_records(3, left, right, strength, separate=apart, evidence=evidence)
    assert labels[0] == labels[1] != labels[2]  # the weaker merge is refused
    # the evidence of the pairs between the two groups outweighs the clear non-match
    strong = (evidence[0], evidence[1], np.array([6.0, 25.0, -20.0]))
    assert len(set(cluster_records(3, left, right, strength, separate=apart, evidence=strong))) == 1
    # an edge that is not the model's merge (an equal identifier, a reviewer's accept) joins
    kept = cluster_records(
        3,
        left,
        right,
        strength,
        separate=apart,
        evidence=evidence,
        model_edges=np.array([True, False]),
    )
    assert len(set(kept.tolist())) == 1
