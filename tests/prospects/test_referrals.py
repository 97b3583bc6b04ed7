"""Tests for prospects.referrals (referral CSV exports)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import EncodingError, RejectLimitError, SchemaError
from core.identifiers import luhn_npi_valid
from prospects.referrals import (
    OUTPUT_COLUMNS,
    parse_referral_date,
    read_referral_events,
)
from tests.paths import FIXTURES

DATA = FIXTURES / "prospects"
GOOD = DATA / "referrals_good.csv"
HEADER = "external_id,referral_date,referrer_npi,referrer_name,service_line,site_code,patient_ref\n"


def write(tmp_path: Path, text: str, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_good_file_reads_every_row_with_synonym_headers() -> None:
    read = read_referral_events(GOOD)
    assert read.rejects == []
    assert read.rows_read == 4
    ev = read.events
    assert list(ev.columns) == list(OUTPUT_COLUMNS)
    assert ev["external_id"].tolist() == ["R-1001", "R-1002", "R-1003", "R-1004"]
    assert ev["referral_date"].tolist() == [
        date(2024, 1, 5),
        date(2024, 1, 17),
        date(2024, 2, 1),
        date(2024, 2, 29),
    ]
    # a quoted note spans lines 3-4, so the next record starts on line 5
    assert ev["line"].tolist() == [2, 3, 5, 6]
    assert ev.loc[0, "referrer_name"] == "WIEBE, DAVID"
    assert ev["referrer_npi"].isna().tolist() == [False, False, True, False]
    assert ev.loc[3, "service_line"] == "orthopaedics"


def test_missing_required_columns_are_all_named(tmp_path: Path) -> None:
    path = write(tmp_path, "referrer_npi,service_line\n1679576722,MRI\n")
    with pytest.raises(SchemaError) as info:
        read_referral_events(path)
    fields = {p.field for p in info.value.problems}
    assert {"external_id", "referral_date"} <= fields
    assert "external_id" in str(info.value) and "referral_date" in str(info.value)
    assert all(p.file == "export.csv" and p.line == 1 for p in info.value.problems)


def test_no_referrer_column_is_a_schema_error(tmp_path: Path) -> None:
    path = write(tmp_path, "external_id,referral_date\nA,2024-01-01\n")
    with pytest.raises(SchemaError, match="referrer"):
        read_referral_events(path)


def test_patient_name_column_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "external_id,referral_date,referrer_name,Patient Name\nA,2024-01-01,Dr X,Jane Doe\n",
    )
    with pytest.raises(SchemaError) as info:
        read_referral_events(path)
    assert [p.field for p in info.value.problems] == ["Patient Name"]


def test_bad_rows_are_rejected_with_line_and_field(tmp_path: Path) -> None:
    text = HEADER + (
        "A1,2024-01-05,1679576722,,MRI,S1,\n"
        "A2,2024-13-40,1679576722,,MRI,S1,\n"  # line 3: impossible date
        "A3,2024-01-06,123,,MRI,S1,\n"  # line 4: short NPI
        "A4,2024-01-06,1679576723,,MRI,S1,\n"  # line 5: wrong check digit
        "A5,2024-01-06,,,MRI,S1,\n"  # line 6: no referrer
        ",yesterday,,,MRI,S1,\n"  # line 7: three faults
        "A7,2024-01-07,,Dr Who\n"  # line 8: too few fields
    )
    read = read_referral_events(write(tmp_path, text))
    assert read.events["external_id"].tolist() == ["A1"]
    assert read.rows_read == 7
    by_line = {(p.line, p.field) for p in read.rejects}
    assert (3, "referral_date") in by_line
    assert (4, "referrer_npi") in by_line
    assert (5, "referrer_npi") in by_line
    assert (6, "referrer_npi") in by_line
    assert {(7, "external_id"), (7, "referral_date"), (7, "referrer_npi")} <= by_line
    assert sorted({p.line for p in read.rejects if p.line is not None}) == [3, 4, 5, 6, 7, 8]
    bad_date = next(p for p in read.rejects if p.line == 3)
    assert bad_date.value == "2024-13-40" and bad_date.file == "export.csv"


def test_duplicate_external_id_keeps_first(tmp_path: Path) -> None:
    text = (
        HEADER + "D1,2024-01-05,,Dr A,MRI,,\nD2,2024-01-05,,Dr B,MRI,,\nD1,2024-02-05,,Dr C,MRI,,\n"
    )
    read = read_referral_events(write(tmp_path, text))
    assert read.events["referrer_name"].tolist() == ["Dr A", "Dr B"]
    (dup,) = read.rejects
    assert (dup.line, dup.field, dup.value) == (4, "external_id", "D1")
    assert "line 2" in dup.message


def test_future_dates_rejected_after_as_of(tmp_path: Path) -> None:
    text = HEADER + "F1,2024-03-01,,Dr A,MRI,,\nF2,2024-03-02,,Dr A,MRI,,\n"
    read = read_referral_events(write(tmp_path, text), as_of=date(2024, 3, 1))
    assert read.events["external_id"].tolist() == ["F1"]  # as_of itself is fine
    assert [(p.line, p.field) for p in read.rejects] == [(3, "referral_date")]


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    text = HEADER + "E1,2024-01-05,,Dr Zoë,MRI,,\n"
    path = write(tmp_path, text)
    with path.open("ab") as fh:  # UTF-8 text, then a Windows-1252 byte: refused
        fh.write("E2,2024-01-05,,Dr Müller,MRI,,\n".encode("cp1252"))
    with pytest.raises(EncodingError) as info:
        read_referral_events(path)
    (problem,) = info.value.problems
    assert problem.line == 3 and problem.file == "export.csv"
    assert "--encoding" in str(info.value)


def test_windows_1252_after_ascii_is_read_and_says_so(tmp_path: Path) -> None:
    text = HEADER + "E1,2024-01-05,,Dr A,MRI,,\nE2,2024-01-05,,Dr Müller,MRI,,\n"
    path = write(tmp_path, text, encoding="cp1252")
    read = read_referral_events(path)
    assert read.events["referrer_name"].tolist() == ["Dr A", "Dr Müller"]
    assert [w.code for w in read.warnings] == ["encoding_detected"]
    # the caller can name the encoding instead (no warning then)
    read = read_referral_events(path, encoding="cp1252")
    assert read.events["referrer_name"].tolist() == ["Dr A", "Dr Müller"] and read.warnings == []


def test_utf8_bom_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "B1,2024-01-05,,Dr A,MRI,,\n").encode())
    assert read_referral_events(path).events["external_id"].tolist() == ["B1"]


def test_reject_limit(tmp_path: Path) -> None:
    text = HEADER + "L1,2024-01-05,,Dr A,MRI,,\nL2,bad,,Dr A,MRI,,\n"
    path = write(tmp_path, text)
    with pytest.raises(RejectLimitError) as info:
        read_referral_events(path, max_reject_rate=0.1)
    assert info.value.problems[0].line == 3
    assert len(read_referral_events(path, max_reject_rate=0.5).events) == 1


def test_real_npis_pass_check_digit() -> None:
    for npi in ("1679576722", "1588667638", "1497758544", "1023011178", "1669475711"):
        assert luhn_npi_valid(npi)
    assert not luhn_npi_valid("1679576721")
    assert not luhn_npi_valid("167957672")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_date_formats_round_trip(day: date) -> None:
    assert parse_referral_date(day.isoformat()) == day
    assert parse_referral_date(day.strftime("%m/%d/%Y")) == day
    assert parse_referral_date(f"{day.month}/{day.day}/{day.year}") == day


@given(st.text(max_size=12))
def test_date_parser_raises_only_value_error(text: str) -> None:
    try:
        parsed = parse_referral_date(text)
    except ValueError:
        return
    assert isinstance(parsed, date)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_exactly_one_check_digit_is_valid(stem: str) -> None:
    valid = [d for d in "0123456789" if luhn_npi_valid(stem + d)]
    assert len(valid) == 1


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 100])
def test_chunks_add_up_to_the_whole_read_and_find_repeats_across_chunks(
    tmp_path: Path, chunk_rows: int
) -> None:
    from prospects.referrals import iter_referral_events

    text = HEADER + (
        "D1,2024-01-05,,Dr A,MRI,,\n"
        "D2,2024-13-05,,Dr B,MRI,,\n"  # line 3: impossible date
        "D3,2024-01-07,,Dr C,MRI,,\n"
        "D1,2024-02-05,,Dr D,MRI,,\n"  # line 5: repeats line 2, in a later chunk when small
        "D4,2024-01-08,,Dr E,MRI,,\n"
    )
    path = write(tmp_path, text)
    whole = read_referral_events(path)
    parts = list(iter_referral_events(path, chunk_rows=chunk_rows))
    assert all(p.rows_read <= chunk_rows for p in parts)
    assert sum(p.rows_read for p in parts) == whole.rows_read == 5
    events = [e for p in parts for e in p.events["external_id"]]
    assert events == whole.events["external_id"].tolist() == ["D1", "D3", "D4"]
    problems = [(r.line, r.field) for p in parts for r in p.rejects]
    assert (
        problems
        == [(r.line, r.field) for r in whole.rejects]
        == [
            (3, "referral_date"),
            (5, "external_id"),
        ]
    )
