"""The person-level linkage benchmark's generator and metrics, on numbers worked out by hand."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from bench.linkage_metrics import (
    best_cluster_threshold,
    best_pair_threshold,
    scored_pairs_at,
    true_pair_count,
)
from bench.person_data import RATES, SHARES, _luhn_digit, generate_people
from bench.person_linkage import evaluate, mean_ci

N = 12_000


@pytest.fixture(scope="module")
def world():
    return generate_people(N, seed=5)


def test_same_seed_same_world_other_seed_other_world():
    a, b = generate_people(2_000, seed=9), generate_people(2_000, seed=9)
    assert a.records.equals(b.records) and np.array_equal(a.truth, b.truth)
    assert a.flags.equals(b.flags)
    assert not generate_people(2_000, seed=10).records.equals(a.records)


def test_truth_has_people_written_one_to_four_times(world):
    assert len(world.records) == N and world.records["rec_id"].is_unique
    sizes = pd.Series(world.truth).value_counts()
    assert sizes.min() == 1 and sizes.max() == 4
    assert 0.35 < (sizes == 1).mean() < 0.55  # many people are written once
    # the copy numbers of a person are 0..k-1
    per = pd.DataFrame({"p": world.truth, "c": world.copy}).groupby("p")["c"]
    assert (per.max() + 1 == per.size()).all()


@pytest.mark.parametrize(
    "flag", ["given_typo", "surname_typo", "swapped", "no_surname", "moved", "dob_wrong_year"]
)
def test_unconditional_corruptions_hit_their_rate(world, flag):
    rate = world.flags[flag].mean()
    # a binomial draw of N: within five standard errors
    assert abs(rate - RATES[flag]) < 5 * np.sqrt(RATES[flag] * (1 - RATES[flag]) / N)


def test_corruptions_show_in_the_records(world):
    r, f = world.records, world.flags
    assert r["surname"].isna().mean() == pytest.approx(RATES["no_surname"], abs=0.005)
    assert r["id_number"].notna().mean() == pytest.approx(SHARES["id_number"], abs=0.02)
    # a year-only date of birth is four characters; the rest are ISO dates
    dob = r["dob"].dropna()
    assert set(dob.str.len()) == {4, 10} and (f["dob_year_only"] & r["dob"].notna()).any()
    assert (dob[dob.str.len() == 4].index.isin(np.flatnonzero(f["dob_year_only"]))).all()
    plain = f["initial"] & ~f["swapped"] & ~f["given_typo"] & ~f["ocr"] & r["given_name"].notna()
    assert plain.any() and (r.loc[plain, "given_name"].str.fullmatch(r"\w\.")).all()
    # accents both present and folded: the same person written Jürgen and Jurgen
    assert r["given_name"].str.contains("[ÀÉÈÜÖØŁéèüöøłçñ]", regex=True).any()
    # one person has different names across records (a typo, a nickname or a swap)
    names = r.assign(p=world.truth).dropna(subset=["surname"])
    assert (names.groupby("p")["surname"].nunique() > 1).any()


def test_postcodes_have_their_countries_shapes(world):
    r = world.records.dropna(subset=["postcode"])
    f = world.flags.loc[r.index]
    ok = ~f["postcode_typo"] & ~f["ocr"]  # an OCR error may hit the postcode
    shapes = {
        "US": r"\d{5}(-\d{4})?",
        "FR": r"\d{5}",
        "DE": r"\d{5}",
        "AU": r"\d{4}",
        "GB": r"(?i)[A-Z]{1,2}\d{1,2}[A-Z]? ?\d[A-Z]{2}",
        "CA": r"(?i)[A-Z]\d[A-Z] ?\d[A-Z]\d",
    }
    for country, shape in shapes.items():
        codes = r.loc[ok & (r["country"] == country), "postcode"]
        assert len(codes) > 50 and codes.str.fullmatch(shape).all(), country


def test_identity_numbers_carry_a_luhn_check_digit(world):
    ids = world.records["id_number"].dropna()
    digits = np.array([[int(c) for c in s] for s in ids])
    valid = _luhn_digit(digits[:, :9]) == digits[:, 9]
    typo = world.flags.loc[ids.index, "id_typo"].to_numpy()
    assert valid[~typo].all()
    assert not valid[typo].any()  # one changed digit always breaks a Luhn check


def test_namesakes_exist(world):
    r = world.records.assign(p=world.truth).dropna(subset=["given_name", "surname"])
    people_per_name = r.groupby(["given_name", "surname"])["p"].nunique()
    assert (people_per_name > 1).sum() > 50


def test_generator_imports_no_product_matching_code():
    for name in [m for m in sys.modules if m.startswith(("enrichment", "core.text"))]:
        assert "person_data" not in name
    import subprocess

    code = (
        "import sys, bench.person_data; "
        "bad = [m for m in sys.modules if m.startswith(('enrichment', 'core.text'))]; "
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_scored_pair_metrics_by_hand():
    # true pairs: 4 in all; three scored, one of them wrong
    prob = np.array([0.9, 0.8, 0.4, 0.3])
    same = np.array([True, False, True, False])
    m = scored_pairs_at(prob, same, n_true=4, threshold=0.5)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.25)
    best = best_pair_threshold(prob, same, n_true=4)
    # t=0.9: P 1 R .25 F1 .4; t=0.8: .5/.25 -> .333; t=0.4: 2/3, .5 -> 4/7
    assert best["threshold"] == 0.4 and best["f1"] == pytest.approx(4 / 7)
    # ties at one probability are kept or dropped together
    tied = best_pair_threshold(np.array([0.7, 0.7]), np.array([True, False]), n_true=1)
    assert tied["threshold"] == 0.7 and tied["precision"] == pytest.approx(0.5)


def test_cluster_threshold_and_evaluate_by_hand():
    truth = np.array([0, 0, 0, 1, 1])
    assert true_pair_count(truth) == 4
    left, right = np.array([0, 1, 2]), np.array([1, 2, 3])
    prob = np.array([0.9, 0.6, 0.55])
    # at 0.6 the components are {0,1,2},{3},{4}: 3 of 3 predicted pairs true, 3 of 4 found
    best = best_cluster_threshold(left, right, prob, truth, candidates=[0.5, 0.6, 0.95])
    assert best["threshold"] == 0.6 and best["f1"] == pytest.approx(2 * 0.75 / 1.75)
    t = pd.DataFrame({"rec_id": list("abcde"), "person_id": truth})
    clusters = pd.DataFrame({"record_id": list("edcba"), "cluster_id": [7, 7, 1, 1, 1]})
    pairs = pd.DataFrame(
        {"left_id": ["a", "b", "c"], "right_id": ["b", "c", "d"], "match_probability": prob}
    )
    q = evaluate(clusters, pairs, t, default_threshold=0.58)
    assert q["clusters"]["all"]["f1"] == 1.0 and q["exact"] == {"precision": 1.0, "recall": 1.0}
    assert q["pairs_default"]["recall"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="every record"):
        evaluate(clusters.iloc[1:], pairs, t, default_threshold=0.5)


def test_mean_ci():
    m, h = mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and h == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)
    assert mean_ci([0.5]) == (0.5, 0.0)
