"""Tests of the NPPES reader on the real 10-row samples and generated rows."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import EncodingError, InputError, SchemaError
from core.identifiers import luhn_npi_valid, npi_check_digit
from enrichment.nppes import iter_nppes
from enrichment.nppes_layout import NPPES_COLUMNS_2016, NPPES_COLUMNS_V2024, detect_layout
from enrichment.records import SOURCE_RECORD_COLUMNS
from tests.enrichment.readers import parse_row, read_whole, rejected_lines
from tests.paths import FIXTURES

DATA = FIXTURES
SAMPLE_2016 = DATA / "npidata_pfile_sample_first10.csv"
SAMPLE_2024 = DATA / "npidata_pfile_sample_first10_v2024layout.csv"
SAMPLE_NPIS = [
    "1679576722",
    "1588667638",
    "1497758544",
    "1306849450",
    "1215930367",
    "1023011178",
    "1932102084",
    "1841293990",
    "1750384806",
    "1669475711",
]


@pytest.fixture(scope="module")
def sample_2016():
    return read_whole(iter_nppes, SAMPLE_2016)


@pytest.fixture(scope="module")
def sample_2024():
    return read_whole(iter_nppes, SAMPLE_2024, chunk_rows=3)


@pytest.fixture(scope="module")
def template_row() -> dict[str, str]:
    with SAMPLE_2024.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        next(reader)
        return dict(zip(header, next(reader)))  # PILCHER: primary taxonomy in slot 2


def write_nppes(
    path: Path, rows: list[dict[str, str]], header=NPPES_COLUMNS_V2024, encoding="utf-8"
):
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([row.get(c, "") for c in header])
    return path


# --- Luhn -----------------------------------------------------------------------------------


@pytest.mark.parametrize("npi", ["1234567893", *SAMPLE_NPIS])
def test_luhn_valid_known(npi):
    assert luhn_npi_valid(npi)
    assert npi_check_digit(npi[:9]) == npi[9]


@pytest.mark.parametrize("npi", ["1234567890", "123456789", "12345678931", "123456789X", ""])
def test_luhn_invalid_known(npi):
    assert not luhn_npi_valid(npi)


def test_check_digit_needs_nine_digits():
    with pytest.raises(ValueError):
        npi_check_digit("12345")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(0, 9))
def test_luhn_only_the_check_digit_is_valid(first9, digit):
    npi = first9 + str(digit)
    assert luhn_npi_valid(npi) == (str(digit) == npi_check_digit(first9))


# --- real samples ---------------------------------------------------------------------------


def test_layouts_detected():
    assert detect_layout(list(NPPES_COLUMNS_2016)) == "v2016"
    assert detect_layout(list(reversed(NPPES_COLUMNS_V2024))) == "v2024"  # by names, not positions


def test_sample_reads_all_rows(sample_2016):
    assert sample_2016.rows_read == 10
    assert sample_2016.rejects == []
    assert list(sample_2016.records.columns) == list(SOURCE_RECORD_COLUMNS)
    assert sample_2016.records["npi"].tolist() == SAMPLE_NPIS
    assert sample_2016.records["line"].tolist() == list(range(2, 12))


def test_both_layouts_parse_identically(sample_2016, sample_2024):
    a, b = sample_2016.records, sample_2024.records
    assert a.equals(b)  # gender comes from Gender Code / Sex Code alike
    assert a["gender"].tolist() == ["M", "M", None, "M", "M", None, "M", "F", "M", "F"]


def test_primary_taxonomy_follows_switch(sample_2016):
    rec = sample_2016.records.set_index("npi")
    # the three rows whose Y is in slot 2
    assert rec.loc["1215930367", "taxonomy_code"] == "207RH0003X"  # slot 1 is 174400000X
    assert rec.loc["1215930367", "taxonomy_codes"] == "174400000X;207RH0003X"
    assert rec.loc["1588667638", "taxonomy_code"] == "207RC0000X"
    assert rec.loc["1932102084", "taxonomy_code"] == "207RC0000X"
    assert rec.loc["1679576722", "taxonomy_code"] == "207X00000X"


def test_sample_field_mapping(sample_2016):
    rec = sample_2016.records.set_index("npi").loc["1588667638"]
    assert (rec["first_name"], rec["middle_name"], rec["last_name"]) == ("WILLIAM", "C", "PILCHER")
    assert rec["name_prefix"] == "DR." and rec["credential"] == "MD"
    assert rec["address_1"] == "1824 KING STREET" and rec["address_2"] == "SUITE 300"
    assert (rec["city"], rec["state"], rec["postal_code"]) == ("JACKSONVILLE", "FL", "32204")
    assert rec["phone"] == "+19043881820"
    assert rec["enumeration_date"] == date(2005, 5, 23)
    assert rec["last_update_date"] == date(2014, 5, 29)
    assert rec["is_active"] and rec["deactivation_date"] is None
    org = sample_2016.records.set_index("npi").loc["1497758544"]
    assert org["entity_type"] == "organization"
    assert org["organization_name"] == "CUMBERLAND COUNTY HOSPITAL SYSTEM, INC"
    assert org["first_name"] is None and org["last_name"] is None


def test_iter_nppes_chunks_with_global_lines():
    chunks = list(iter_nppes(SAMPLE_2024, chunk_rows=4))
    assert [c.rows_read for c in chunks] == [4, 4, 2]
    assert chunks[2].records["line"].tolist() == [10, 11]


# --- errors ---------------------------------------------------------------------------------


def test_header_missing_and_unknown_columns_listed(tmp_path, template_row):
    header = [
        c for c in NPPES_COLUMNS_V2024 if c not in ("Last Update Date", "NPI Deactivation Date")
    ]
    header += ["Favourite Colour"]  # alone, it would be ignored (with a warning)
    path = write_nppes(tmp_path / "bad_header.csv", [template_row], header=header)
    with pytest.raises(SchemaError) as err:
        read_whole(iter_nppes, path)
    fields = {(p.field, p.message.split(" (")[0]) for p in err.value.problems}
    assert ("Last Update Date", "missing column") in fields
    assert ("NPI Deactivation Date", "missing column") in fields
    assert ("Favourite Colour", "unknown column") in fields
    assert len(err.value.problems) == 3
    assert all(p.line == 1 and p.file == "bad_header.csv" for p in err.value.problems)


def test_latin1_file_reads_as_cp1252_with_a_warning(tmp_path, template_row):
    rows = [dict(template_row), dict(template_row, **{"Provider First Name": "JOSÉ"})]
    path = write_nppes(tmp_path / "latin1.csv", rows, encoding="latin-1")
    read = read_whole(iter_nppes, path)
    assert read.records["first_name"].tolist() == ["WILLIAM", "JOSÉ"]
    (warning,) = read.warnings
    assert warning.code == "encoding_detected" and "line 3" in warning.message
    ok = read_whole(iter_nppes, path, encoding="latin-1")
    assert ok.records["first_name"].tolist() == ["WILLIAM", "JOSÉ"] and ok.warnings == []


def test_a_file_mixing_utf8_and_latin1_is_refused_naming_the_line(tmp_path, template_row):
    rows = [dict(template_row, **{"Provider First Name": "ZOË"}), dict(template_row)]
    path = write_nppes(tmp_path / "mixed.csv", rows)
    path.write_bytes(path.read_bytes().replace(b"WILLIAM", "JOSÉ".encode("latin-1")))
    with pytest.raises(EncodingError) as err:
        read_whole(iter_nppes, path)
    (problem,) = err.value.problems
    assert problem.line == 3 and problem.file == "mixed.csv"
    assert problem.value == "c9"
    assert "utf-8" in str(err.value) and "byte offset" in str(err.value)
    assert "--encoding" in str(err.value) and "encoding=" not in str(err.value)


def test_empty_file_is_input_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError):
        read_whole(iter_nppes, path)


def test_bad_row_rejected_alone(tmp_path, template_row):
    good2 = dict(template_row, NPI="1234567893")
    bad = dict(template_row, NPI="1234567890", **{"Last Update Date": "2014-05-29"})
    path = write_nppes(tmp_path / "mixed.csv", [template_row, bad, good2])
    result = read_whole(iter_nppes, path)
    assert result.rows_read == 3
    assert result.records["npi"].tolist() == ["1588667638", "1234567893"]
    assert {(p.line, p.field) for p in result.rejects} == {(3, "NPI"), (3, "Last Update Date")}
    assert len(rejected_lines(result)) / result.rows_read == pytest.approx(1 / 3)


def test_bom_is_stripped(tmp_path, template_row):
    path = write_nppes(tmp_path / "bom.csv", [template_row], encoding="utf-8-sig")
    assert read_whole(iter_nppes, path).records["npi"].tolist() == ["1588667638"]


def test_deactivated_blank_row_kept_inactive(tmp_path):
    row = {"NPI": "1234567893", "NPI Deactivation Date": "01/31/2018"}
    path = write_nppes(tmp_path / "deact.csv", [row])
    rec = read_whole(iter_nppes, path).records.iloc[0]
    assert rec["entity_type"] is None and not rec["is_active"]
    assert rec["deactivation_date"] == date(2018, 1, 31)


def test_reactivated_is_active(template_row):
    row = dict(
        template_row,
        **{"NPI Deactivation Date": "01/31/2018", "NPI Reactivation Date": "02/01/2019"},
    )
    record, problems = parse_row(row, line=2)
    assert problems == [] and record["is_active"]


def test_primary_defaults_without_switch(template_row):
    row = dict(template_row, **{"Healthcare Provider Primary Taxonomy Switch_2": "N"})
    record, _ = parse_row(row, line=2)
    assert record["taxonomy_code"] == "207RC0000X"  # slot 1, no reject
    row = dict(
        row,
        **{
            "Healthcare Provider Taxonomy Code_1": "",
            "Healthcare Provider Taxonomy Code_2": "390200000X",
        },
    )
    record, _ = parse_row(row, line=2)
    assert record["taxonomy_code"] == "390200000X"  # the only code


# --- properties -----------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)
_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(first=_text, org=_text, city=_text, enumerated=_dates, updated=st.one_of(st.none(), _dates))
def test_row_roundtrip_through_csv(
    tmp_path_factory, template_row, first, org, city, enumerated, updated
):
    row = dict(
        template_row,
        **{
            "Provider First Name": first,
            "Provider Organization Name (Legal Business Name)": org + ', "x", ' + org,
            "Provider Business Practice Location Address City Name": city,
            "Provider Enumeration Date": enumerated.strftime("%m/%d/%Y"),
            "Last Update Date": updated.strftime("%m/%d/%Y") if updated else "",
        },
    )
    path = write_nppes(tmp_path_factory.mktemp("p") / "rt.csv", [row, template_row])
    result = read_whole(iter_nppes, path)
    assert result.rejects == []
    rec = result.records.iloc[0]
    assert rec["first_name"] == (first.strip() or None)
    assert rec["organization_name"] == (org + ', "x", ' + org).strip()
    assert rec["city"] == (city.strip() or None)
    assert rec["enumeration_date"] == enumerated
    assert rec["last_update_date"] == updated
    assert result.records["line"].tolist() == [2, 3]


def test_multiline_field_keeps_physical_lines(tmp_path, template_row):
    row = dict(
        template_row,
        **{"Provider Second Line Business Practice Location Address": "SUITE 300\nBLDG B"},
    )
    path = write_nppes(tmp_path / "ml.csv", [row, template_row, template_row])
    result = read_whole(iter_nppes, path)
    assert result.records["line"].tolist() == [4, 5]
    # an address is not free text: a line break in it is refused, naming the row's first line
    (problem,) = result.rejects
    assert (problem.line, problem.field) == (
        2,
        "Provider Second Line Business Practice Location Address",
    )
    assert "U+000A" in problem.message and problem.value == "SUITE 300\\x0aBLDG B"


@settings(max_examples=60, deadline=None)
@given(
    bad=st.text(max_size=12).filter(lambda s: s.strip() != ""),
    column=st.sampled_from(
        [
            "Provider Enumeration Date",
            "Last Update Date",
            "NPI Deactivation Date",
            "NPI Reactivation Date",
        ]
    ),
)
def test_bad_dates_rejected_with_line_and_field(template_row, bad, column):
    from enrichment.nppes import parse_nppes_date

    try:
        parse_nppes_date(bad)
        valid = True
    except ValueError:
        valid = False
    record, problems = parse_row(dict(template_row, **{column: bad}), line=7, file="f.csv")
    if valid:
        assert problems == []
    else:
        assert record is None
        assert [(p.line, p.field, p.file) for p in problems] == [(7, column, "f.csv")]


@given(_dates)
def test_dates_roundtrip(d):
    from enrichment.nppes import parse_nppes_date

    assert parse_nppes_date(d.strftime("%m/%d/%Y")) == d
