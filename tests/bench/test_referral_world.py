"""The independent referral world (bench.referral_world): sanity figures on small worlds."""

from __future__ import annotations

import ast
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.referral_world import (
    generate_world,
    load_params,
    oracle_start_probability,
    rank_auc,
    started_within,
    summary,
    write_clinic_files,
)
from bench.referral_world_sim import distance_term
from core.identifiers import luhn_npi_valid
from enrichment.cms import iter_cms
from enrichment.nppes import iter_nppes
from prospects.referrals import read_referral_events

BENCH = Path(__file__).resolve().parents[2] / "bench"
CUTOFF = date(2024, 7, 1)  # month 6 of a history starting 2024-01-01


def small_params(months: int = 12, providers: int = 1500):
    p = load_params()
    return replace(p, world=replace(p.world, providers=providers, history_months=months))


@pytest.fixture(scope="module")
def world():
    return generate_world(seed=7, params=small_params())


def logit(h: pd.Series) -> pd.Series:
    return np.log(h / (1 - h))


def test_same_seed_same_world_and_another_seed_another(world):
    again = generate_world(seed=7, params=small_params())
    for name in ("providers", "drive", "hazard", "referrals", "interactions"):
        pd.testing.assert_frame_equal(getattr(world, name), getattr(again, name))
    other = generate_world(seed=8, params=small_params())
    assert not other.providers["npi"].equals(world.providers["npi"])


def test_npis_are_distinct_with_valid_check_digits(world):
    npi = world.providers["npi"]
    assert npi.is_unique and npi.str.fullmatch(r"1\d{9}").all()
    assert all(luhn_npi_valid(v) for v in npi)
    assert set(world.providers["entity_type"]) == {1, 2}


def test_about_thirty_percent_of_referrals_carry_no_npi(world):
    ref = world.referrals
    assert len(ref) > 1000
    assert 0.22 < (ref["npi"] == "").mean() < 0.38
    named = ref[ref["npi"] != ""].merge(
        world.providers[["provider_id", "npi"]], left_on="provider_id_truth", right_on="provider_id"
    )
    assert (named["npi_x"] == named["npi_y"]).all()
    assert ref["referrer_name"].str.contains(r"^Dr\. [A-Z]\. .+ \(.+\)$").any()
    assert ref["referrer_name"].str.contains(r", .+ - ").any()  # "Smith, John - Columbus"


def test_practice_size_reported_is_right_for_about_a_third(world):
    ind = world.providers[world.providers["entity_type"] == 1]
    right = (ind["practice_size_reported"] == ind["practice_size"]).fillna(False)
    assert 0.27 < right.mean() < 0.41
    assert 0.18 < ind["practice_size_reported"].isna().mean() < 0.34
    assert ind.groupby("practice_id").size().max() <= 40


def test_the_distance_decay_is_flat_then_steep_then_a_floor():
    h = load_params().hazard
    minutes = np.arange(0.0, 80.0, 0.5)
    d = distance_term(h, minutes, np.ones_like(minutes))
    assert (np.diff(d) <= 0).all()
    assert d[minutes == 8.0][0] > -0.2  # nearly flat for the first 8 minutes
    assert d[minutes == 20.0][0] < -1.0
    assert d[-1] > -h.distance_floor - h.distance_slope_near * h.distance_flat_min - 1e-9
    # surgeons travel further: a wider tolerance decays later
    assert distance_term(h, np.array([20.0]), np.array([1.8]))[0] > d[minutes == 20.0][0]


def test_the_hazard_decreases_with_drive_time(world):
    near = world.drive.groupby("provider_id")["drive_minutes"].min()
    first = world.hazard[(world.hazard["month"] == pd.Timestamp(world.start))]
    first = first[first["at_risk"]].set_index("provider_id")
    pv = world.providers.set_index("provider_id").loc[first.index]
    frame = pd.DataFrame(
        {"x": logit(first["hazard"]), "min": near.loc[first.index], "g": pv["specialty_group"]}
    )
    # within a specialty group, near providers have the higher hazard
    for group in ("primary_care", "other_physician", "advanced_practice"):
        sub = frame[frame["g"] == group]
        assert sub.loc[sub["min"] < 14, "x"].mean() > sub.loc[sub["min"] > 20, "x"].mean() + 0.3


def test_a_visit_raises_the_next_months_hazard(world):
    it = world.interactions
    visits = it[it["kind"] == "visit"]
    hz = world.hazard.set_index(["provider_id", "month"])
    ratios = []
    for pid, when in zip(visits["provider_id_truth"], visits["date"]):
        month = when.to_period("M").to_timestamp()
        after = month + pd.DateOffset(months=1)
        if (pid, after) not in hz.index:
            continue
        before, later = hz.loc[(pid, month)], hz.loc[(pid, after)]
        if before["at_risk"] and later["at_risk"]:
            ratios.append(later["hazard"] / before["hazard"])
    assert len(ratios) > 50
    assert np.median(ratios) > 1.8


def test_the_oracle_is_a_probability_and_its_first_month_is_the_true_hazard(world):
    labels = started_within(world, cutoff=CUTOFF, horizon_months=6)
    oracle = oracle_start_probability(world, cutoff=CUTOFF, horizon_months=6)
    assert oracle["provider_id"].tolist() == labels.index.tolist()
    assert oracle["probability"].between(0, 1).all()
    auc = rank_auc(scores=oracle["probability"].to_numpy(), labels=labels.to_numpy())
    assert labels.sum() > 10 and auc > 0.7
    one = oracle_start_probability(world, cutoff=CUTOFF, horizon_months=1).set_index("provider_id")
    hz = world.hazard[world.hazard["month"] == pd.Timestamp(CUTOFF)].set_index("provider_id")
    risk = hz.loc[one.index, "at_risk"]
    np.testing.assert_allclose(
        one.loc[risk[risk].index, "probability"], hz.loc[risk[risk].index, "hazard"]
    )


def test_the_oracle_does_not_look_ahead():
    cutoff = date(2024, 10, 1)
    short = generate_world(seed=3, params=small_params(months=12, providers=900))
    long = generate_world(seed=3, params=small_params(months=18, providers=900))
    a = oracle_start_probability(short, cutoff=cutoff, horizon_months=6)
    b = oracle_start_probability(long, cutoff=cutoff, horizon_months=6)
    pd.testing.assert_frame_equal(a, b)
    early = pd.Timestamp(cutoff)
    pd.testing.assert_frame_equal(
        short.referrals[short.referrals["referral_date"] < early],
        long.referrals[long.referrals["referral_date"] < early],
    )


def test_labels_follow_the_lapsed_rule(world):
    labels = started_within(world, cutoff=CUTOFF, horizon_months=6)
    ref = world.referrals
    cut = pd.Timestamp(CUTOFF)
    when = ref["referral_date"]
    recent = set(ref.loc[(when >= cut - pd.Timedelta(days=90)) & (when < cut), "provider_id_truth"])
    assert not recent & set(labels.index)  # active referrers are not prospects
    lapsed = set(ref.loc[when < cut - pd.Timedelta(days=90), "provider_id_truth"])
    assert len((lapsed - recent) & set(labels.index)) > 0  # lapsed referrers are
    window = ref[(when >= cut) & (when < pd.Timestamp(2025, 1, 1))]
    expected = labels.index.isin(window["provider_id_truth"])
    assert (labels.to_numpy() == expected).all()
    with pytest.raises(ValueError):
        started_within(world, cutoff=date(2024, 7, 15), horizon_months=6)
    with pytest.raises(ValueError):
        started_within(world, cutoff=CUTOFF, horizon_months=7)


def test_the_default_world_meets_the_target_figures():
    s = summary(generate_world(seed=1))
    assert 6000 < s["providers"] < 7000
    assert 250 < s["referrers_at_start"] < 800
    assert 100 <= s["starts_within"] <= 300 and 0.01 < s["base_rate"] < 0.06
    assert 0.8 < s["oracle_auc"] < 0.95


def test_rank_auc_by_hand():
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    assert rank_auc(scores=scores, labels=np.array([0, 0, 1, 1])) == 0.75  # 3 of 4 pairs right
    assert rank_auc(scores=np.array([0.5, 0.5]), labels=np.array([0, 1])) == 0.5  # a tie: half


def test_the_clinic_files_load_with_the_products_readers(world, tmp_path):
    paths = write_clinic_files(world, tmp_path)
    results = list(iter_nppes(paths["nppes"]))
    assert sum(r.rows_read for r in results) == len(world.providers)
    assert [p for r in results for p in r.rejects] == []
    records = pd.concat([r.records for r in results])
    assert set(records["npi"]) == set(world.providers["npi"])
    header, first = paths["nppes"].read_text().splitlines()[:2]
    assert header.startswith('"NPI","Entity Type Code"') and first.startswith('"1')
    row = next(iter(pd.read_csv(paths["nppes"], dtype=str, nrows=1).itertuples(index=False)))
    fields = dict(zip(pd.read_csv(paths["nppes"], dtype=str, nrows=0).columns, row))
    assert fields["Healthcare Provider Primary Taxonomy Switch_1"] == "Y"
    assert pd.Series([fields["Provider Enumeration Date"]]).str.fullmatch(r"\d\d/\d\d/\d{4}").all()
    read = read_referral_events(paths["referrals"], as_of=world.end)
    assert read.rejects == [] and len(read.events) == len(world.referrals)
    assert read.events["referrer_npi"].isna().sum() == (world.referrals["npi"] == "").sum()
    cms = list(iter_cms(paths["cms"]))
    assert [p for r in cms for p in r.rejects] == []
    interactions = pd.read_csv(paths["interactions"], dtype=str)
    assert ",".join(interactions.columns) == "date,npi,kind,liaison,note,external_id"
    assert set(interactions["kind"]) == {"visit", "call", "email"}
    sites = pd.read_csv(paths["sites"], dtype=str)
    assert {"site_code", "name", "service_line", "lat", "lon"} <= set(sites.columns)
    assert len(pd.read_csv(paths["competitors"])) == len(world.competitors)


def test_the_world_imports_only_the_standard_library_numpy_and_pandas():
    allowed = set(sys.stdlib_module_names) | {"numpy", "pandas", "__future__"}
    for path in sorted(BENCH.glob("referral_world*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in allowed or name.startswith("bench.referral_world"), (path, name)


def test_load_params_refuses_an_unknown_key(tmp_path):
    text = (BENCH / "referral_world.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("churn = 0.045", "churn = 0.045\nchrun = 0.1"))
    with pytest.raises(ValueError, match="chrun"):
        load_params(bad)
