"""Tests of the CMS Doctors and Clinicians reader on small synthetic files in both layouts."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import InputError, SchemaError
from enrichment.cms import fold_cms_rows, iter_cms, parse_cms_row
from enrichment.cms_layout import (
    CMS_COLUMNS_CURRENT,
    CMS_COLUMNS_LEGACY,
    REQUIRED_FIELDS,
    detect_cms_columns,
)
from enrichment.records import SOURCE_RECORD_COLUMNS
from tests.enrichment.readers import combine_results, read_whole, rejected_lines
from tests.paths import FIXTURES

DATA = FIXTURES / "enrichment"
CURRENT = DATA / "cms_dac_current.csv"
LEGACY = DATA / "cms_dac_legacy.csv"
BROKEN = DATA / "cms_dac_broken_header.csv"
WIEBE = "1679576722"


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])
    return path


def _by_npi(frame: pd.DataFrame) -> dict[str, dict]:
    return {rec["npi"]: rec for rec in frame.to_dict("records")}


@pytest.fixture(scope="module")
def current():
    return read_whole(iter_cms, CURRENT)


@pytest.fixture(scope="module")
def legacy():
    return read_whole(iter_cms, LEGACY)


# ----------------------------------------------------------------------------- layouts


def test_detect_both_layouts_by_name():
    cur = detect_cms_columns(list(CMS_COLUMNS_CURRENT))
    old = detect_cms_columns(list(CMS_COLUMNS_LEGACY))
    assert (cur.layout, old.layout) == ("current", "legacy")
    assert len(CMS_COLUMNS_CURRENT) == 31
    assert cur.index["city"] == CMS_COLUMNS_CURRENT.index("City/Town")
    assert old.index["postal_code"] == CMS_COLUMNS_LEGACY.index("zip")
    assert old.index["hospital_name_5"] == CMS_COLUMNS_LEGACY.index("hosp_afl_lbn_5")
    assert "hospital_ccn_1" not in cur.index


def test_detect_is_case_insensitive_and_takes_api_names():
    shuffled = [h.upper() for h in reversed(CMS_COLUMNS_CURRENT)]
    cols = detect_cms_columns(shuffled)
    assert cols.headers["last_name"] == "PROVIDER LAST NAME"
    assert cols.index["npi"] == len(shuffled) - 1
    api = [
        "npi",
        "provider_last_name",
        "provider_first_name",
        "adr_ln_1",
        "citytown",
        "state",
        "zip_code",
        "telephone_number",
        "facility_name",
    ]
    assert set(detect_cms_columns(api).index) >= set(REQUIRED_FIELDS) | {"phone", "org_name"}


def test_broken_header_names_missing_and_unknown_columns():  # unknown ones alone would warn
    with pytest.raises(SchemaError) as info:
        read_whole(iter_cms, BROKEN)
    found = {(p.message.split(" (")[0], p.field) for p in info.value.problems}
    assert ("missing required column", "Provider Last Name") in found
    assert ("unknown column", "Provider Last Nme") in found
    assert ("unknown column", "Ind_Notes") in found
    assert all(p.line == 1 and p.file == BROKEN.name for p in info.value.problems)


def test_duplicated_field_is_a_schema_error():
    with pytest.raises(SchemaError) as info:
        detect_cms_columns([*CMS_COLUMNS_CURRENT, "cty"])
    assert [p.field for p in info.value.problems] == ["cty"]


# ----------------------------------------------------------------------------- folding


def test_current_layout_folds_one_record_per_npi(current):
    frame = current.records
    assert list(frame.columns) == list(SOURCE_RECORD_COLUMNS)
    assert list(frame["npi"]) == sorted([WIEBE, "1588667638", "1306849450", "1932102084"])
    assert current.rows_read == 11
    assert set(frame["source"]) == {"cms_dac"}
    assert list(frame["source_key"]) == list(frame["npi"])
    assert set(frame["country"]) == {"US"}
    assert sorted(frame["line"].tolist()) == [2, 6, 8, 12]  # the line of each NPI's first row


def test_several_rows_give_two_groups_and_two_locations(current):
    rec = _by_npi(current.records)[WIEBE]
    assert (rec["first_name"], rec["middle_name"], rec["last_name"]) == ("DAVID", "A", "WIEBE")
    assert (rec["gender"], rec["credential"], rec["entity_type"]) == ("M", "MD", "individual")
    assert rec["specialty_text"] == "FAMILY PRACTICE"
    # the address on two of the four rows (spelt two ways) is the main one
    assert (rec["address_1"], rec["city"], rec["state"], rec["postal_code"], rec["phone"]) == (
        "3500 CENTRAL AVE",
        "KEARNEY",
        "NE",
        "68847",
        "+13088652512",
    )
    assert [
        (loc["address_1"], loc["address_2"], loc["postal_code"], loc["phone"])
        for loc in rec["locations"]
    ] == [
        ("10 E 31ST ST", None, "68847", "+13088657100"),
        ("211 W 33RD ST", "SUITE 200", "68845", "+13088650000"),
    ]
    assert all(loc["country"] == "US" for loc in rec["locations"])
    ids = rec["identifiers"]
    assert ids["groups"] == [
        {"org_pac_id": "1234567001", "name": "KEARNEY CLINIC PC", "members": 25},
        {"org_pac_id": "1234567002", "name": "GOOD SAMARITAN PHYSICIANS", "members": 140},
    ]
    assert ids["pac_id"] == "4587654321"
    assert ids["enrollment_ids"] == ["I20050523000123"]
    assert ids["medical_school"] == "UNIVERSITY OF NEBRASKA COLLEGE OF MEDICINE"
    assert ids["graduation_year"] == 1990
    assert ids["secondary_specialties"] == ["SPORTS MEDICINE"]
    assert ids["telehealth"] is True
    assert "hospitals" not in ids


def test_enrollments_and_suffix(current):
    rec = _by_npi(current.records)["1306849450"]
    assert rec["identifiers"]["enrollment_ids"] == ["I20070301000789", "I20120815000790"]
    assert rec["name_suffix"] == "JR."
    assert rec["locations"] == []
    assert "groups" not in rec["identifiers"] and "telehealth" not in rec["identifiers"]


def test_legacy_layout_hospitals_and_specialties(legacy):
    recs = _by_npi(legacy.records)
    assert legacy.rejects == [] and legacy.rows_read == 4
    wortsman = recs["1841293990"]
    assert wortsman["identifiers"]["hospitals"] == [
        {"ccn": "260020", "name": "SAINT JOHNS MERCY MEDICAL CENTER"},
        {"ccn": "260105", "name": "BARNES JEWISH HOSPITAL"},
    ]
    assert len(wortsman["locations"]) == 1
    assert {wortsman["address_1"], wortsman["locations"][0]["address_1"]} == {
        "660 S EUCLID AVE",
        "4921 PARKVIEW PL",
    }
    bisbee = recs["1750384806"]
    assert bisbee["identifiers"]["secondary_specialties"] == [
        "PAIN MANAGEMENT",
        "INTERVENTIONAL PAIN MANAGEMENT",
    ]
    assert bisbee["identifiers"]["telehealth"] is False
    assert recs["1669475711"]["postal_code"] == "95128"
    assert recs["1669475711"]["identifiers"]["hospitals"][0]["ccn"] == "050125"


def test_both_layouts_give_the_same_record(tmp_path):
    header, rows = _rows(CURRENT)
    old = list(CMS_COLUMNS_LEGACY)
    mapping = dict(zip(CMS_COLUMNS_CURRENT, CMS_COLUMNS_LEGACY[:28] + CMS_COLUMNS_LEGACY[-3:]))
    assert mapping["City/Town"] == "cty" and mapping["adrs_id"] == "adrs_id"
    moved = [[dict(zip([mapping[h] for h in header], r)).get(c, "") for c in old] for r in rows]
    legacy_copy = read_whole(iter_cms, _write(tmp_path / "legacy_copy.csv", old, moved))
    pd.testing.assert_frame_equal(legacy_copy.records, read_whole(iter_cms, CURRENT).records)


# ----------------------------------------------------------------------------- rejects


def test_rejects_name_file_line_and_field(current):
    got = [(p.line, p.field, p.value) for p in current.rejects]
    assert got == [
        (7, "NPI", "1234567890"),
        (10, "Provider Last Name", None),
        (11, "ZIP Code", "94A01"),
    ]
    assert {p.file for p in current.rejects} == {CURRENT.name}
    recs = _by_npi(current.records)
    assert "1234567890" not in recs and "1215930367" not in recs
    # the NPI's other, good row still makes its record
    assert recs["1932102084"]["address_1"] == "200 ELM ST"
    assert recs["1932102084"]["line"] == 12
    assert rejected_lines(current) == [7, 10, 11]


def test_wrong_field_count_is_rejected(tmp_path):
    header, rows = _rows(CURRENT)
    rows[4] = rows[4][:-1]
    result = read_whole(iter_cms, _write(tmp_path / "short.csv", header, rows))
    assert rejected_lines(result)[0] == 6
    assert "fields" in result.rejects[0].message
    assert "1588667638" not in set(result.records["npi"])


# ----------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 4, 5, 11, 12])
def test_npi_straddling_chunks_folds_once(current, chunk_rows):
    chunks = list(iter_cms(CURRENT, chunk_rows=chunk_rows))
    assert sum(c.rows_read for c in chunks) == 11
    assert all(c.rows_read <= chunk_rows for c in chunks)
    combined = combine_results(chunks)
    pd.testing.assert_frame_equal(combined.records, current.records)
    assert combined.rejects == current.rejects


def test_records_come_once_every_row_is_read_and_chunks_hold_at_most_chunk_rows():
    chunks = list(iter_cms(CURRENT, chunk_rows=2))
    reading = [c for c in chunks if c.rows_read]
    assert [c.rows_read for c in reading] == [2, 2, 2, 2, 2, 1]
    assert all(len(c.records) == 0 for c in reading)
    folded = chunks[len(reading) :]
    assert all(c.rows_read == 0 and 0 < len(c.records) <= 2 for c in folded)
    npis = [npi for c in folded for npi in c.records["npi"]]
    assert npis == sorted(npis) and WIEBE in npis  # NPI order


def test_progress_reports_rows_read():
    seen = []
    read_whole(iter_cms, CURRENT, chunk_rows=4, progress=lambda s, d, t: seen.append((s, d, t)))
    assert seen == [("cms_dac", 4, None), ("cms_dac", 8, None), ("cms_dac", 11, None)]


def test_an_npi_whose_rows_are_apart_folds_as_when_they_are_together(tmp_path, current):
    header, rows = _rows(CURRENT)
    unsorted = [rows[0], rows[4], rows[1], *rows[5:], rows[3], rows[2]]
    path = _write(tmp_path / "unsorted.csv", header, unsorted)
    for chunk_rows in (1, 3, 50):
        got = _by_npi(read_whole(iter_cms, path, chunk_rows=chunk_rows).records)
        want = _by_npi(current.records)
        assert set(got) == set(want)
        for npi, record in want.items():  # the same records, but for the lines they start on
            assert {k: v for k, v in got[npi].items() if k != "line"} == {
                k: v for k, v in record.items() if k != "line"
            }
    assert _by_npi(read_whole(iter_cms, path).records)[WIEBE]["line"] == 2


def test_a_column_in_no_layout_is_not_read_and_named_in_a_warning(tmp_path, current):
    header, rows = _rows(CURRENT)
    path = _write(tmp_path / "extra.csv", [*header, "Notes"], [[*r, "x"] for r in rows])
    read = read_whole(iter_cms, path)
    assert read.records["record_hash"].tolist() == current.records["record_hash"].tolist()
    (warning,) = read.warnings
    assert (warning.code, warning.columns) == ("columns_ignored", ("Notes",))


def test_chunk_rows_must_be_a_positive_int():
    for bad in ("10", 0, True, 2.0):
        with pytest.raises(InputError) as info:
            read_whole(iter_cms, CURRENT, chunk_rows=bad)
        assert [p.field for p in info.value.problems] == ["chunk_rows"]


# ----------------------------------------------------------------------------- properties

_HEADER, _ROWS = _rows(CURRENT)
_WIEBE_ROWS = [r for r in _ROWS if r[0] == WIEBE]
_OTHER_ROW = next(r for r in _ROWS if r[0] == "1588667638")
_COLUMNS = detect_cms_columns(_HEADER)


@settings(max_examples=40, deadline=None)
@given(order=st.permutations(range(len(_WIEBE_ROWS))), chunk_rows=st.integers(1, 6))
def test_row_order_does_not_change_the_fold(order, chunk_rows):
    rows = [_WIEBE_ROWS[i] for i in order]
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "perm.csv", _HEADER, [_OTHER_ROW, *rows])
        result = read_whole(iter_cms, path, chunk_rows=chunk_rows)
    expected = _by_npi(read_whole(iter_cms, CURRENT).records)[WIEBE]
    got = _by_npi(result.records)[WIEBE]
    assert got["line"] == 3
    assert {k: v for k, v in got.items() if k != "line"} == {
        k: v for k, v in expected.items() if k != "line"
    }


@given(zip_code=st.text(alphabet="0123456789- A", max_size=11))
def test_zip_is_five_digits_or_rejected(zip_code):
    cells = list(_WIEBE_ROWS[0])
    cells[_COLUMNS.index["postal_code"]] = zip_code
    row, problems = parse_cms_row(cells, columns=_COLUMNS, line=9, file="f.csv")
    text = zip_code.strip()
    if not text:
        assert row is not None and row["postal_code"] is None
    elif row is None:
        assert [(p.line, p.field) for p in problems] == [(9, "ZIP Code")]
    else:
        assert row["postal_code"] == text[:5] and text[:5].isdigit()
        assert len(text.replace("-", "")) in (5, 9)


def test_fold_refuses_mixed_npis():
    parsed = [
        parse_cms_row(r, columns=_COLUMNS, line=i, file="f.csv")[0]
        for i, r in enumerate([_WIEBE_ROWS[0], _OTHER_ROW], start=2)
    ]
    with pytest.raises(ValueError):
        fold_cms_rows(parsed)
    with pytest.raises(ValueError):
        fold_cms_rows([])
