"""Connected components under cannot-link and identifier constraints."""

from __future__ import annotations

import numpy as np

from enrichment.clustering import cluster_records


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
