"""Tests of the NPPES companion readers and their merge into standard records."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import SchemaError
from core.identifiers import luhn_npi_valid
from enrichment.nppes import iter_nppes
from enrichment.nppes_companions import (
    ENDPOINT_COLUMNS,
    LOCATION_COLUMNS,
    OTHER_NAME_COLUMNS,
    Companions,
    attach_companion_columns,
    endpoint_channel,
    parse_endpoint_row,
    parse_location_row,
    parse_other_name_row,
    read_endpoints,
    read_locations,
    read_other_names,
)
from enrichment.records import record_hash
from tests.enrichment.readers import read_whole, rejected_lines
from tests.paths import FIXTURES

DATA = FIXTURES
HERE = FIXTURES / "enrichment"
SAMPLE = DATA / "npidata_pfile_sample_first10_v2024layout.csv"
OTHERNAME = HERE / "othername_pfile_20050523-20240107.csv"
PL = HERE / "pl_pfile_20050523-20240107.csv"
ENDPOINT = HERE / "endpoint_pfile_20050523-20240107.csv"
PILCHER, CAPE_FEAR = "1588667638", "1497758544"


@pytest.fixture(scope="module")
def records():
    return read_whole(iter_nppes, SAMPLE).records


@pytest.fixture(scope="module")
def companions():
    return read_other_names(OTHERNAME), read_locations(PL), read_endpoints(ENDPOINT)


@pytest.fixture(scope="module")
def columns():
    """The sample's records as the NPPES reader streams them (one chunk, held column-wise)."""
    (chunk,) = list(iter_nppes(SAMPLE))
    return chunk.columns


@pytest.fixture(scope="module")
def attached_columns(columns, companions):
    names, places, endpoints = companions
    merge = Companions.build(other_names=names, locations=places, endpoints=endpoints)
    return attach_companion_columns(columns, merge)


@pytest.fixture(scope="module")
def attached(attached_columns):
    return attached_columns.to_frame()


def test_other_names_read_with_rejects(companions):
    names = companions[0]
    assert names.rows_read == 5
    assert names.records["npi"].tolist() == [CAPE_FEAR, CAPE_FEAR, "1023011178"]
    assert names.records["line"].tolist() == [2, 3, 4]
    assert [(p.line, p.field) for p in names.rejects] == [
        (5, "NPI"),
        (6, OTHER_NAME_COLUMNS[1]),
        (6, OTHER_NAME_COLUMNS[2]),
    ]
    assert rejected_lines(names) == [5, 6] and len(
        rejected_lines(names)
    ) / names.rows_read == pytest.approx(0.4)
    assert {p.file for p in names.rejects} == {OTHERNAME.name}


def test_locations_read(companions):
    places = companions[1].records
    us, ca = places.iloc[0], places.iloc[1]
    assert (us["postal_code"], us["country"], us["phone"], us["fax"]) == (
        "32216",
        "US",
        "+19043881820",
        "+19043881821",
    )
    assert us["phone_extension"] == "12" and us["address_2"] == "SUITE 120"
    assert (ca["postal_code"], ca["country"], ca["state"]) == ("M5V 2T6", "CA", "ON")
    assert [(p.line, p.field) for p in companions[1].rejects] == [
        (4, LOCATION_COLUMNS[1]),
        (5, "NPI"),
    ]


def test_endpoints_read_as_channels(companions):
    ep = companions[2].records
    assert ep[["channel", "value"]].values.tolist() == [
        ["direct", "wpilcher@direct.example-hisp.org"],
        ["web", "https://fhir.example-hospital.org/r4"],
        ["email", "records@example-hospital.org"],
    ]
    assert ep["affiliation"].tolist() == [False, True, False]
    assert ep["use"].tolist() == ["Direct", "Health Information Exchange (HIE)", "Records requests"]
    assert [(p.line, p.field) for p in companions[2].rejects] == [(5, "Endpoint")]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("DIRECT", "dr@direct.example.org", ("direct", "dr@direct.example.org")),
        ("direct", "mailto:dr@direct.example.org", ("direct", "dr@direct.example.org")),
        ("OTHERS", "front@example.org", ("email", "front@example.org")),
        ("FHIR", "https://x.example.org/fhir", ("web", "https://x.example.org/fhir")),
        ("WEB", "www.example.org", ("web", "www.example.org")),
        (None, "https://a@b.example.org/x", ("web", "https://a@b.example.org/x")),
    ],
)
def test_endpoint_channel(kind, value, expected):
    assert endpoint_channel(kind, value) == expected


def test_attach_puts_direct_address_and_location(attached, records):
    rec = attached.set_index("npi")
    assert rec.loc[PILCHER, "contacts"] == [
        {
            "channel": "direct",
            "value": "wpilcher@direct.example-hisp.org",
            "use": "Direct",
            "endpoint_type": "DIRECT",
        }
    ]
    places = rec.loc[PILCHER, "locations"]
    assert [p["city"] for p in places] == ["JACKSONVILLE", "TORONTO"]
    assert places[0]["address_1"] == "3627 UNIVERSITY BLVD S" and "npi" not in places[0]
    # the main file's other name is not repeated; the companion's new one is added
    assert rec.loc[CAPE_FEAR, "identifiers"]["other_names"] == [
        {"name": "CAPE FEAR VALLEY HOME HEALTH AND HOSPICE", "type_code": "3"},
        {"name": "CAPE FEAR VALLEY HOSPICE CARE", "type_code": "3"},
    ]
    assert rec.loc[CAPE_FEAR, "identifiers"]["other"][0]["identifier"] == "3401562"
    assert [c["channel"] for c in rec.loc[CAPE_FEAR, "contacts"]] == ["web", "email"]


def test_attach_recomputes_hash_only_where_changed(attached, records, columns):
    changed = {PILCHER, CAPE_FEAR, "1023011178"}
    for (_, before), (_, after) in zip(records.iterrows(), attached.iterrows()):
        if before["npi"] in changed:
            assert after["record_hash"] != before["record_hash"]
            row = after.to_dict()
            row["is_active"] = bool(row["is_active"])
            assert after["record_hash"] == record_hash(row)
        else:
            assert after["record_hash"] == before["record_hash"]
    assert columns.to_frame()["contacts"].isna().all()  # input untouched
    assert list(attached.columns) == list(records.columns)


def test_attach_is_idempotent(attached_columns, attached, companions):
    names, places, endpoints = companions
    merge = Companions.build(other_names=names, locations=places, endpoints=endpoints.records)
    assert attach_companion_columns(attached_columns, merge).to_frame().equals(attached)
    assert (
        attach_companion_columns(attached_columns, Companions.build()).to_frame().equals(attached)
    )


def test_attach_needs_the_columns(companions):
    endpoints = companions[2].records
    with pytest.raises(ValueError, match="lack"):
        Companions.build(endpoints=endpoints.drop(columns=["channel"]))


def test_npi_filter_and_stream_source():
    data = ENDPOINT.read_bytes()
    result = read_endpoints(io.BytesIO(data), name="endpoint.csv", npis={CAPE_FEAR})
    assert result.rows_read == 2 and result.records["line"].tolist() == [3, 4]


def test_missing_columns_listed():
    header = [c for c in LOCATION_COLUMNS if "City" not in c and "Fax" not in c]
    buf = io.StringIO(",".join(f'"{h}"' for h in header) + "\n", newline="")
    with pytest.raises(SchemaError) as err:
        read_locations(buf, name="pl.csv")
    assert [p.field for p in err.value.problems] == [LOCATION_COLUMNS[3], LOCATION_COLUMNS[9]]
    assert all(p.line == 1 and p.file == "pl.csv" for p in err.value.problems)


def test_header_spacing_variants_accepted():
    header = [c.replace("-  Address", "- Address").upper() for c in LOCATION_COLUMNS]
    row = [PILCHER, "1 ELM ST", "", "AUSTIN", "TX", "78701", "", "", "", ""]
    buf = io.StringIO()
    csv.writer(buf).writerows([header, row])
    result = read_locations(io.StringIO(buf.getvalue(), newline=""), name="pl.csv")
    assert result.records["city"].tolist() == ["AUSTIN"]


def test_short_row_rejected():
    buf = io.StringIO(",".join(OTHER_NAME_COLUMNS) + f"\n{PILCHER},ONLY TWO\n", newline="")
    result = read_other_names(buf, name="o.csv")
    assert result.records.empty and result.rejects[0].line == 2
    assert "fields" in result.rejects[0].message


# --- properties -------------------------------------------------------------------------------

_field = st.text(max_size=40)
_npi = st.one_of(_field, st.sampled_from([PILCHER, CAPE_FEAR, "1234567890"]))
_PARSERS = [
    (parse_other_name_row, OTHER_NAME_COLUMNS),
    (parse_location_row, LOCATION_COLUMNS),
    (parse_endpoint_row, ENDPOINT_COLUMNS),
]


@settings(max_examples=150, deadline=None)
@given(which=st.integers(0, 2), npi=_npi, cells=st.lists(_field, min_size=18, max_size=18))
def test_parsers_never_crash(which, npi, cells):
    parse, columns = _PARSERS[which]
    row = dict(zip(columns, [npi, *cells]))
    record, problems = parse(row, line=9, file="f.csv")
    if record is None:
        assert problems and all((p.line, p.file) == (9, "f.csv") for p in problems)
        assert all(p.field in columns for p in problems)
    else:
        assert problems == [] and record["npi"] == npi.strip() and luhn_npi_valid(record["npi"])
        assert record["line"] == 9


@settings(max_examples=60, deadline=None)
@given(npi=_npi, cells=st.lists(_field, min_size=18, max_size=18))
def test_endpoint_file_roundtrip_never_crashes(npi, cells):
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL)
    writer.writerow(ENDPOINT_COLUMNS)
    writer.writerow([npi, *cells])
    writer.writerow([PILCHER, "DIRECT", "", "a@direct.example.org", *[""] * 15])
    raw = buf.getvalue().encode("utf-8")
    result = read_endpoints(io.BytesIO(raw), name="e.csv")
    # the quoted first row may hold blank-only content, in which case it is skipped
    assert result.rows_read in (1, 2)
    assert result.records["value"].iloc[-1] == "a@direct.example.org"
    assert len(result.records) + len(rejected_lines(result)) == result.rows_read
