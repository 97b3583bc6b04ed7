"""Tests of the NPPES Deactivated NPI Report reader (XLSX written with openpyxl, and CSV)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from core.errors import InputError, SchemaError
from enrichment.nppes_deactivation import (
    DEACTIVATION_FIELDS,
    parse_deactivation_date,
    read_deactivations,
)

GOOD = ["1679576722", "1588667638", "1497758544", "1306849450"]
DATE_HEADER = "NPPES Deactivation Date"


def write_report(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    ws = book.active
    ws.title = "Deactivated NPIs"
    ws.append(["NPPES Deactivated NPI Report"])  # row 1: title
    ws.append(["Report run date: 01/08/2024"])  # row 2
    ws.append([])  # row 3: blank
    ws.append(["NPI", DATE_HEADER])  # row 4: header
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("d") / "NPPES Deactivated NPI Report 20240108.xlsx"
    return read_deactivations(
        write_report(
            path,
            [
                [GOOD[0], "01/31/2018"],  # row 5: text date as CMS writes it
                [int(GOOD[1]), datetime(2019, 2, 1)],  # row 6: numeric NPI, Excel date
                ["1234567890", "03/01/2020"],  # row 7: bad check digit
                [GOOD[2], "2020-13-45"],  # row 8: malformed date
                [GOOD[3], None],  # row 9: missing date
                [],  # row 10: blank
                [GOOD[3], 43831],  # row 11: Excel serial for 2020-01-01
            ],
        )
    )


def test_xlsx_with_title_rows(report):
    assert list(report.records.columns) == list(DEACTIVATION_FIELDS)
    assert report.records.values.tolist() == [
        [GOOD[0], date(2018, 1, 31), 5],
        [GOOD[1], date(2019, 2, 1), 6],
        [GOOD[3], date(2020, 1, 1), 11],
    ]
    assert report.rows_read == 6


def test_xlsx_rejects_name_line_and_field(report):
    assert [(p.line, p.field) for p in report.rejects] == [
        (7, "NPI"),
        (8, DATE_HEADER),
        (9, DATE_HEADER),
    ]
    assert {p.file for p in report.rejects} == {"NPPES Deactivated NPI Report 20240108.xlsx"}
    assert report.rejects[1].value == "2020-13-45"


def test_csv_report(tmp_path):
    path = tmp_path / "deactivated.csv"
    path.write_text(
        "NPPES Deactivated NPI Report\n\nNPI,NPPES Deactivation Date\n"
        f"{GOOD[0]},05/23/2005\n{GOOD[1]},31/05/2005\n",
        encoding="utf-8",
    )
    result = read_deactivations(path)
    assert result.records.values.tolist() == [[GOOD[0], date(2005, 5, 23), 4]]
    assert [(p.line, p.field) for p in result.rejects] == [(5, DATE_HEADER)]


def test_date_column_found_without_its_usual_name(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text(f"Row,NPI,Date\n1,{GOOD[0]},01/02/2003\n", encoding="utf-8")
    result = read_deactivations(path)
    assert result.records["deactivation_date"].tolist() == [date(2003, 1, 2)]


def test_no_header_row(tmp_path):
    path = tmp_path / "noheader.csv"
    path.write_text("\n".join(f"{GOOD[0]},01/02/2003" for _ in range(25)) + "\n")
    with pytest.raises(SchemaError, match="no header row"):
        read_deactivations(path)


def test_unsupported_and_broken_files(tmp_path):
    xls = tmp_path / "report.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0 legacy")
    with pytest.raises(InputError, match="unsupported"):
        read_deactivations(xls)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    with pytest.raises(InputError, match="not a readable XLSX"):
        read_deactivations(broken)
    with pytest.raises(InputError):
        read_deactivations(tmp_path / "missing.xlsx")


def test_unknown_sheet(tmp_path):
    path = write_report(tmp_path / "r.xlsx", [[GOOD[0], "01/31/2018"]])
    with pytest.raises(InputError, match="no sheet"):
        read_deactivations(path, sheet="Other")
    assert len(read_deactivations(path, sheet="Deactivated NPIs").records) == 1


_dates = st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 30))


@given(_dates)
def test_date_forms_agree(d):
    serial = (d - date(1899, 12, 30)).days
    assert parse_deactivation_date(d.strftime("%m/%d/%Y")) == d
    assert parse_deactivation_date(d.isoformat()) == d
    assert parse_deactivation_date(datetime(d.year, d.month, d.day, 13, 5)) == d
    assert parse_deactivation_date(serial) == d


@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.booleans()))
def test_date_parser_returns_date_or_value_error(value):
    try:
        result = parse_deactivation_date(value)
    except ValueError:
        return
    assert result is None or isinstance(result, date)
