"""Tests of entity resolution on a hand-made set and of the settings model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from core.errors import MatchingError
from enrichment.link_settings import LinkSettings
from enrichment.linker import PAIR_COLUMNS, link_records
from enrichment.nucc import read_nucc
from enrichment.records import records_frame

NUCC = Path(__file__).resolve().parent.parent / "data" / "nucc_taxonomy_220.csv"

BUILDING = dict(
    address_1="123 MAIN STREET",
    address_2="SUITE 200",
    city="COLUMBUS",
    state="OH",
    postal_code="43215",
    phone="6145550100",
)
RECORDS = [
    # 0: the doctor in NPPES
    dict(
        source="nppes",
        source_key="1234567893",
        npi="1234567893",
        first_name="ROBERT",
        middle_name="J",
        last_name="SMITH",
        credential="MD",
        taxonomy_code="207R00000X",
        **BUILDING,
    ),
    # 1: the same doctor in the referrer list: nickname, typo'd address, no NPI, no phone
    dict(
        source="referrer_list",
        source_key="r1",
        name_prefix="Dr",
        first_name="Bob",
        last_name="Smith",
        specialty_text="Internal Medicine",
        address_1="123 Mian St",
        address_2="Ste 200",
        city="Columbus",
        state="OH",
        postal_code="43215",
    ),
    # 2: a different person in the same building, same phone
    dict(
        source="nppes",
        source_key="1245319599",
        npi="1245319599",
        first_name="MARY",
        last_name="JONES",
        taxonomy_code="207RC0000X",
        **BUILDING,
    ),
    # 3: the referrer-list row for Mary, with her NPI
    dict(
        source="referrer_list",
        source_key="r2",
        npi="1245319599",
        first_name="Mary",
        last_name="Jones",
        address_1="123 Main St",
        postal_code="43215",
    ),
    # 4: an organisation at the same address
    dict(
        source="nppes",
        source_key="1679576722",
        npi="1679576722",
        entity_type="organization",
        organization_name="CAPITAL INTERNAL MEDICINE LLC",
        **BUILDING,
    ),
]


@pytest.fixture(scope="module")
def records():
    rows = [{"entity_type": "individual", "line": i + 2, **r} for i, r in enumerate(RECORDS)]
    return records_frame(rows).set_axis([f"rec{i}" for i in range(len(rows))])


@pytest.fixture(scope="module")
def nucc():
    return read_nucc(NUCC)


@pytest.fixture(scope="module")
def result(records, nucc):
    return link_records(records, settings=LinkSettings(), taxonomy=nucc)


def pair(result, left, right):
    rows = result.pairs[(result.pairs["left"] == left) & (result.pairs["right"] == right)]
    assert len(rows) == 1, f"no pair {left}-{right}"
    return rows.iloc[0]


def test_pairs_frame(result):
    assert list(result.pairs.columns) == list(PAIR_COLUMNS)
    assert set(result.pairs["decision"]) <= {"merge", "review", "non_match"}


def test_same_doctor_merges(result):
    p = pair(result, "rec0", "rec1")
    assert p["decision"] == "merge" and p["match_probability"] >= 0.95
    levels = {e["comparison"]: e["level"] for e in p["explanation"]}
    assert levels["first_name"] == "nickname"
    assert levels["last_name"] == "exact"
    assert levels["taxonomy"] == "same_classification"  # free text vs NUCC classification
    assert levels["phone"] == "null"
    assert result.clusters["rec0"] == result.clusters["rec1"]


def test_different_people_same_building_do_not_merge(result):
    p = pair(result, "rec0", "rec2")
    assert p["decision"] == "non_match"
    assert result.clusters["rec0"] != result.clusters["rec2"]


def test_exact_npi_merges(result):
    p = pair(result, "rec2", "rec3")
    assert p["decision"] == "merge" and p["blocking_rule"] == "exact_npi"
    assert result.clusters["rec2"] == result.clusters["rec3"]


def test_individuals_never_pair_with_organisations(result, records):
    org = "rec4"
    assert not ((result.pairs["left"] == org) | (result.pairs["right"] == org)).any()
    assert result.clusters.nunique() == 3


def test_explanations_sum_to_weight_and_serialise(result):
    for _, p in result.pairs.iterrows():
        assert sum(e["weight"] for e in p["explanation"]) == pytest.approx(p["match_weight"])
        assert set(p["explanation"][0]) == {"comparison", "level", "weight"}
    json.dumps(result.pairs["explanation"].tolist())


def test_different_npis_never_auto_merge():
    twin = dict(
        first_name="ROBERT",
        last_name="SMITH",
        taxonomy_code="207R00000X",
        entity_type="individual",
        source="nppes",
        **BUILDING,
    )
    recs = records_frame(
        [
            dict(twin, npi="1234567893", source_key="1234567893", line=2),
            dict(twin, npi="1245319599", source_key="1245319599", line=3),
        ]
    )
    res = link_records(recs, settings=LinkSettings())
    (decision,) = res.pairs["decision"].tolist()
    assert decision == "review"
    assert res.clusters.nunique() == 2


def test_links_to_existing_golden(records, nucc):
    golden = pd.DataFrame(
        {
            "provider_id": ["P-1"],
            "npi": [None],
            "entity_type": ["individual"],
            "first_name": ["Robert"],
            "last_name": ["Smith"],
            "address_1": ["123 Main St"],
            "address_2": ["Ste 200"],
            "postal_code": ["43215"],
            "phone": ["6145550100"],
            "taxonomy_code": ["207R00000X"],
            "specialty_text": [None],
            "organization_name": [None],
        }
    )
    res = link_records(records, golden, settings=LinkSettings(), taxonomy=nucc)
    gold_pairs = res.pairs[res.pairs["right_is_golden"]]
    assert set(gold_pairs["right"]) == {"P-1"}
    assert res.provider_ids["rec0"] == "P-1" and res.provider_ids["rec1"] == "P-1"
    assert res.provider_ids["rec2"] is None


def test_missing_columns_raise(records):
    with pytest.raises(MatchingError) as err:
        link_records(records.drop(columns=["phone", "npi"]), settings=LinkSettings())
    assert {p.field for p in err.value.problems} == {"phone", "npi"}
    with pytest.raises(TypeError):
        link_records(records, settings={"prior": 0.1})  # type: ignore[arg-type]


def test_settings_roundtrip_json_and_toml(tmp_path):
    default = LinkSettings()
    path = tmp_path / "link.json"
    path.write_text(default.model_dump_json(), encoding="utf-8")
    assert LinkSettings.from_file(path) == default
    toml = tmp_path / "link.toml"
    toml.write_text(
        "version = 1\nprior = 0.001\nauto_merge = 0.99\nreview = 0.6\n", encoding="utf-8"
    )
    loaded = LinkSettings.from_file(toml)
    assert loaded.auto_merge == 0.99 and loaded.comparisons == default.comparisons


def test_settings_validation_lists_problems(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"version": 2, "prior": 2, "review": 0.9, "auto_merge": 0.5}), encoding="utf-8"
    )
    with pytest.raises(MatchingError) as err:
        LinkSettings.from_file(path)
    assert {"version", "prior"} <= {p.field for p in err.value.problems}
    with pytest.raises(ValueError):
        LinkSettings(review=0.9, auto_merge=0.5)


def test_level_weights_are_log2_bayes_factors():
    level = LinkSettings().comparisons[0].levels[0]
    assert level.weight == pytest.approx(__import__("math").log2(level.m / level.u))
