"""The generic entry point: any CSV, a column mapping and a settings file."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import InputError
from enrichment.dedupe import dedupe_files
from enrichment.dedupe_mapping import read_mapping
from enrichment.link_settings import LinkSettings

ROWS = """rec,name,zip,tel
a1,"Dr. Robert Smith, MD",43215,(614) 555-0100
a2,"SMITH, BOB",43215,614-555-0100
a3,"Mary Jones",43215,
a4,"Jones Mary",43215,6145550199
"""
#: The same with a phone on a3 too: names swapped weigh as one agreement (not one per name),
#: so a bare swap in one ZIP of a four-record file is a review pair (p ~ 0.3), not a merge.
SHARED_PHONE = ROWS.replace('"Mary Jones",43215,', '"Mary Jones",43215,6145550199')


def test_dedupe_a_csv_with_a_mapping(tmp_path):
    src = tmp_path / "people.csv"
    src.write_text(SHARED_PHONE, encoding="utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        'id = "rec"\n[columns]\nfull_name = "name"\npostal_code = "zip"\nphone = "tel"\n',
        encoding="utf-8",
    )
    report = dedupe_files(
        [src],
        mapping=read_mapping(mapping),
        settings=LinkSettings.default(),
        out_dir=tmp_path / "out",
    )
    clusters = pd.read_csv(report["outputs"]["clusters"], dtype=str).set_index("record_id")
    assert clusters.loc["a1", "cluster_id"] == clusters.loc["a2", "cluster_id"]  # nickname
    assert clusters.loc["a3", "cluster_id"] == clusters.loc["a4", "cluster_id"]  # swapped
    assert clusters.loc["a1", "cluster_id"] != clusters.loc["a3", "cluster_id"]
    pairs = pd.read_csv(report["outputs"]["pairs"])
    assert {"match_probability", "decision", "level_first_name"} <= set(pairs.columns)
    swapped = pairs[(pairs["left_id"] == "a3") & (pairs["right_id"] == "a4")]
    assert swapped["level_first_name"].tolist() == [2]  # read as swapped
    assert report["records"] == 4 and report["total_s"] > 0


def test_mapping_problems_are_listed(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[columns]\nsurname = "x"\nfirst_name = 3\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_mapping(bad)
    assert {p.field for p in err.value.problems} == {"surname", "first_name"}
    src = tmp_path / "p.csv"
    src.write_text("a,b\n1,2\n", encoding="utf-8")
    mapping = {"id": None, "columns": {"first_name": "given", "last_name": "family"}}
    with pytest.raises(InputError) as err:
        dedupe_files([src], mapping=mapping, settings=LinkSettings.default(), out_dir=tmp_path)
    assert {p.field for p in err.value.problems} == {"given", "family"}


def _run(tmp_path, text, mapping_text, **kwargs):
    src = tmp_path / "people.csv"
    src.write_text(text, encoding="utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text(mapping_text, encoding="utf-8")
    return dedupe_files(
        [src],
        mapping=read_mapping(mapping),
        settings=LinkSettings.default(),
        out_dir=tmp_path / "out",
        **kwargs,
    )


PADDED = """rec, given_name, surname, postcode, person
r1, Jane, Smith, 2000, p1
r2, Jane, Smith, 2000, p1
r3, Ann, Brown, 3000, p2
"""


def test_padded_headers_match_their_mapping(tmp_path):
    report = _run(
        tmp_path,
        PADDED,
        'id = "rec"\ntruth = "person"\n[columns]\nfirst_name = "given_name"\n'
        'last_name = "surname"\npostal_code = "postcode"\n',
    )
    pairs = pd.read_csv(report["outputs"]["pairs"], dtype=str)
    row = pairs.set_index(["left_id", "right_id"]).loc[("r1", "r2")]  # ids trimmed too
    assert (row["level_first_name"], row["level_last_name"]) == ("0", "0")  # values trimmed
    assert report["quality"]["labels"] == "truth column"
    assert report["quality"]["pairs"]["recall"] == 1.0  # the one true pair was scored


def test_missing_columns_are_listed_with_the_columns_found(tmp_path):
    with pytest.raises(InputError) as err:
        _run(tmp_path, PADDED, '[columns]\nfirst_name = "forename"\n')
    assert "' given_name'" in str(err.value) and "' surname'" in str(err.value)
    assert [p.field for p in err.value.problems] == ["forename"]


def test_four_digit_postcodes_survive_and_unreadable_ones_warn(tmp_path):
    """Australian postcodes without a country are kept; declared US, they cannot be read."""
    mapping = (
        '[columns]\nfirst_name = "given_name"\nlast_name = "surname"\npostal_code = "postcode"\n'
    )
    report = _run(tmp_path, PADDED, mapping)
    assert report["warnings"] == []
    pairs = pd.read_csv(report["outputs"]["pairs"])
    # "2000" kept: it blocks the pair and compares equal (location level 3, same_zip)
    assert pairs[["blocking_rule", "level_location"]].values.tolist() == [["zip_surname_sound", 3]]
    warned = _run(tmp_path, PADDED, mapping.replace("[columns]", 'country = "US"\n[columns]'))
    assert "3 value(s) cannot be read" in warned["warnings"][0]


def test_records_without_a_surname_are_still_compared(tmp_path):
    rows = "rec,first,last,zip,tel\nx1,Maria,,43215,6145550100\nx2,Maria,,43215,6145550100\n"
    report = _run(
        tmp_path,
        rows,
        'id = "rec"\n[columns]\nfirst_name = "first"\nlast_name = "last"\n'
        'postal_code = "zip"\nphone = "tel"\n',
    )
    assert report["pairs"] >= 1
    pairs = pd.read_csv(report["outputs"]["pairs"], dtype=str)
    assert {("x1", "x2")} == set(zip(pairs["left_id"], pairs["right_id"]))


def test_every_scored_pair_is_written_unless_a_threshold_is_chosen(tmp_path):
    mapping = 'id = "rec"\n[columns]\nfull_name = "name"\npostal_code = "zip"\nphone = "tel"\n'
    rows = SHARED_PHONE + 'a5,"Roberta Smithers",43215,6145550111\na6,"Mary Jonas",43215,\n'
    everything = _run(tmp_path, rows, mapping)
    pairs = pd.read_csv(everything["outputs"]["pairs"])
    assert len(pairs) == everything["pairs"]  # non-matches too: a user picks the threshold
    assert pairs["match_probability"].min() < 0.5
    high = _run(tmp_path, rows, mapping, min_probability=0.5, pair_format="parquet")
    kept = pd.read_parquet(high["outputs"]["pairs"])
    assert len(kept) < len(pairs) and (kept["match_probability"] >= 0.5).all()
    implied = pd.read_csv(high["outputs"]["cluster_pairs"], dtype=str)
    assert {("a1", "a2"), ("a3", "a4")} == set(zip(implied["left_id"], implied["right_id"]))


def test_a_clerical_sample_gives_the_thresholds_precision_and_recall(tmp_path):
    labels = pd.DataFrame(
        {"left_id": ["a1", "a3", "a1"], "right_id": ["a2", "a4", "a3"], "match": ["1", "1", "0"]}
    )
    mapping = 'id = "rec"\n[columns]\nfull_name = "name"\npostal_code = "zip"\nphone = "tel"\n'
    report = _run(tmp_path, SHARED_PHONE, mapping, labels=labels, min_probability=0.5)
    assert report["quality"]["pairs"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


@pytest.mark.parametrize("rows", ["rec,name\n", "rec,name\nz1,Jane Smith\n"])
def test_empty_and_one_row_files(tmp_path, rows):
    report = _run(tmp_path, rows, 'id = "rec"\n[columns]\nfull_name = "name"\n')
    assert report["pairs"] == 0
    clusters = pd.read_csv(report["outputs"]["clusters"], dtype=str)
    assert len(clusters) == rows.count("\n") - 1
