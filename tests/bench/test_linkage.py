"""The linkage benchmark's generator and metrics, on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from bench.linkage import cluster_metrics, pair_metrics
from bench.linkage_data import generate


def test_pair_metrics_by_hand():
    truth = np.array([0, 0, 0, 1, 1])
    pred = np.array(
        [0, 0, 1, 1, 2]
    )  # finds (0,1); wrongly pairs 2 with 3; misses (0,2),(1,2),(3,4)
    npi = np.array(["A", "A", None, None, None], dtype=object)
    m = pair_metrics(pred, truth, npi)
    assert m["all"]["precision"] == pytest.approx(1 / 2)
    assert m["all"]["recall"] == pytest.approx(1 / 4)
    # (0,1) share NPI A: without it, 0 of 1 predicted and 0 of 3 true no-identifier pairs are right
    assert m["no_identifier"]["precision"] == 0.0 and m["no_identifier"]["recall"] == 0.0
    c = cluster_metrics(pred, truth)
    assert c == {"precision": 0.0, "recall": 0.0}
    assert cluster_metrics(truth, truth) == {"precision": 1.0, "recall": 1.0}


def test_generator_has_truth_duplicates_and_corruptions():
    df = generate(3_000, seed=3)
    assert len(df) == 3_000
    sizes = df.groupby("entity_id").size()
    assert sizes.max() >= 3 and (sizes == 1).any()
    assert df["npi"].isna().any() and df["npi"].notna().any()
    firsts = df["first_name"].dropna()
    assert firsts.str.startswith("Dr. ").any()
    assert df["phone"].dropna().str.contains(r"\(").any()
    assert (df["entity_type"] == "organization").any()
    assert generate(500, seed=3).equals(generate(500, seed=3))
