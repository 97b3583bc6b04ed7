"""Tests of golden-record survivorship and lineage."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from enrichment.golden import GOLDEN_COLUMNS, build_golden
from enrichment.records import records_frame
from tests.paths import FIXTURES


@pytest.fixture(scope="module")
def records():
    return records_frame(
        [
            {
                "source": "referrer_list",
                "source_key": "r1",
                "line": 2,
                "entity_type": "individual",
                "first_name": "Bob",
                "last_name": "Smith",
                "specialty_text": "Internal Medicine",
                "address_1": "123 Mian St",
                "city": "Columbus",
                "postal_code": "43215",
                "phone": "6145550199",
            },
            {
                "source": "nppes",
                "source_key": "1234567893",
                "line": 5,
                "npi": "1234567893",
                "entity_type": "individual",
                "first_name": "ROBERT",
                "middle_name": "J",
                "last_name": "SMITH",
                "credential": "MD",
                "taxonomy_code": "207R00000X",
                "address_1": "123 MAIN STREET",
                "address_2": "SUITE 200",
                "city": "COLUMBUS",
                "state": "OH",
                "postal_code": "43215",
                "last_update_date": date(2014, 1, 1),
            },
            {
                "source": "nppes",
                "source_key": "1245319599",
                "line": 6,
                "npi": "1245319599",
                "entity_type": "organization",
                "organization_name": "CAPITAL IM LLC",
                "is_active": False,
                "deactivation_date": date(2020, 2, 2),
                "last_update_date": date(2020, 2, 2),
            },
        ]
    )


@pytest.fixture(scope="module")
def golden(records):
    return build_golden(records, pd.Series([0, 0, 1], index=records.index))


def test_one_row_per_cluster(golden):
    assert list(golden.columns) == list(GOLDEN_COLUMNS)
    assert golden["cluster"].tolist() == [0, 1]


def test_survivorship_prefers_nppes_and_fills_gaps(golden):
    g = golden.iloc[0]
    assert (g["first_name"], g["last_name"], g["npi"]) == ("ROBERT", "SMITH", "1234567893")
    assert g["specialty_text"] == "Internal Medicine"  # only the referrer list has it
    assert g["phone"] == "6145550199"
    assert g["display_name"] == "ROBERT J SMITH, MD"
    # the address block comes whole from one record
    assert (g["address_1"], g["address_2"], g["state"]) == ("123 MAIN STREET", "SUITE 200", "OH")


def test_lineage_names_sources(golden):
    lineage = golden.iloc[0]["lineage"]
    assert lineage["first_name"] == "nppes:1234567893"
    assert lineage["specialty_text"] == "referrer_list:r1"
    assert lineage["phone"] == "referrer_list:r1"
    assert lineage["address_1"] == lineage["address_2"] == "nppes:1234567893"
    assert lineage["organization_name"] is None
    assert set(GOLDEN_COLUMNS) - {"cluster", "lineage", "members"} <= set(lineage)
    assert golden.iloc[0]["members"] == ["nppes:1234567893", "referrer_list:r1"]


def test_source_priority_can_be_reversed(records):
    g = build_golden(
        records,
        pd.Series([0, 0, 1], index=records.index),
        source_priority=("referrer_list", "nppes"),
    ).iloc[0]
    assert g["first_name"] == "Bob" and g["lineage"]["first_name"] == "referrer_list:r1"
    assert g["address_2"] is None  # the referrer address block has no second line


def test_most_recent_update_wins_within_source():
    base = {"source": "nppes", "entity_type": "individual", "last_name": "SMITH"}
    recs = records_frame(
        [
            dict(
                base,
                source_key="1234567893",
                line=2,
                first_name="OLD",
                last_update_date=date(2010, 1, 1),
            ),
            dict(
                base,
                source_key="1245319599",
                line=3,
                first_name="NEW",
                last_update_date=date(2020, 1, 1),
            ),
        ]
    )
    g = build_golden(recs, pd.Series([7, 7])).iloc[0]
    assert g["first_name"] == "NEW" and g["lineage"]["first_name"] == "nppes:1245319599"


def test_deactivated_organisation(golden):
    g = golden.iloc[1]
    assert g["display_name"] == "CAPITAL IM LLC" and not g["is_active"]
    assert g["deactivation_date"] == date(2020, 2, 2)


def test_records_without_cluster_listed(records):
    with pytest.raises(InputError) as err:
        build_golden(records, pd.Series([0], index=records.index[:1]))
    assert [p.value for p in err.value.problems] == ["1", "2"]


def test_one_record_clusters_built_column_wise_equal_the_row_rules():

    from enrichment.golden import _golden_row, _single_rows
    from enrichment.nppes import iter_nppes
    from tests.enrichment.readers import read_whole

    sample = FIXTURES / "npidata_pfile_sample_first10_v2024layout.csv"
    records = read_whole(iter_nppes, sample).records
    records.loc[1, "address_1"] = "   "  # no practice address: the country still comes through
    records.loc[2, "first_name"] = ""
    cids = np.arange(len(records))
    fast = _single_rows(records, cids)
    slow = [_golden_row(c, [r]) for c, r in zip(cids, records.to_dict("records"))]
    assert fast == slow
    assert [list(r["lineage"]) for r in fast] == [list(r["lineage"]) for r in slow]
