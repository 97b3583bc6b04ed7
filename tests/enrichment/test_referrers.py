"""Tests of the referrer-list reader."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import EncodingError, SchemaError
from enrichment.referrers import detect_columns, read_referrer_list

LIST = (
    "Referring Physician,Practice Name,Street,Suite,City,ST,Zip Code,Telephone,Specialty,NPI,Referrals 2024\n"
    '"Dr. Bob Smith",Capital Internal Medicine,123 Main Street,Suite 200,Columbus,Ohio,43215-1234,(614) 555-0100,Internal Medicine,,12\n'  # noqa: E501 (one CSV row)
    '"JONES, MARY A, DO",Capital IM,125 Main St,,Columbus,OH,43215,614.555.0101,Cardiology,1234567893,3\n'
    '"Lee, Ann",Lee Clinic,1 A St,,Columbus,OH,43215,614-555-0102,,1234567890,1\n'
)


def write(tmp_path, text, name="referrers.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Referring Physician", "full_name"),
        ("Physician", "full_name"),
        ("Doctor", "full_name"),
        ("Name", "full_name"),
        ("Provider Name", "full_name"),
        ("First Name", "first_name"),
        ("last_name", "last_name"),
        ("NPI", "npi"),
        ("Specialty", "specialty_text"),
        ("Practice", "organization_name"),
        ("Group", "organization_name"),
        ("Address", "address_1"),
        ("Street", "address_1"),
        ("Suite", "address_2"),
        ("CITY", "city"),
        ("State", "state"),
        ("ZIP", "postal_code"),
        ("Zip Code", "postal_code"),
        ("Postal-Code", "postal_code"),
        ("Phone", "phone"),
        ("Telephone", "phone"),
        ("Referrer ID", "source_id"),
        ("ID", "source_id"),
    ],
)
def test_header_synonyms(header, field):
    assert (
        detect_columns([header, "Last Name"] if field != "last_name" else [header]).get(field)
        == header
    )


def test_reads_list(tmp_path):
    result = read_referrer_list(write(tmp_path, LIST))
    assert result.rows_read == 3
    recs = result.records
    assert len(recs) == 2
    bob, mary = recs.iloc[0], recs.iloc[1]
    assert (bob["name_prefix"], bob["first_name"], bob["last_name"]) == ("Dr", "Bob", "Smith")
    assert bob["npi"] is None and bob["state"] == "OH" and bob["postal_code"] == "43215"
    assert bob["phone"] == "+16145550100" and bob["address_2"] == "Suite 200"
    assert (
        bob["specialty_text"] == "Internal Medicine"
        and bob["organization_name"] == "Capital Internal Medicine"
    )
    assert (mary["first_name"], mary["middle_name"], mary["last_name"], mary["credential"]) == (
        "MARY",
        "A",
        "JONES",
        "DO",
    )
    assert mary["npi"] == "1234567893" and mary["line"] == 3
    assert (
        set(recs["source"]) == {"referrer_list"}
        and recs["entity_type"].tolist() == ["individual"] * 2
    )


def test_bad_npi_rejected_alone_naming_field(tmp_path):
    result = read_referrer_list(write(tmp_path, LIST))
    assert [(p.line, p.field, p.value) for p in result.rejects] == [(4, "NPI", "1234567890")]


def test_bad_phone_and_zip_rejected(tmp_path):
    text = "Last Name,First Name,Zip,Phone\nSmith,Ann,ABCDE,555-0100\nDoe,Jo,43215,6145550100\n"
    result = read_referrer_list(write(tmp_path, text))
    assert {(p.line, p.field) for p in result.rejects} == {(2, "Zip"), (2, "Phone")}
    assert result.records["last_name"].tolist() == ["Doe"]


def test_source_key_stable_under_reorder_and_rename(tmp_path):
    lines = LIST.splitlines(keepends=True)
    shuffled = lines[0] + lines[3] + lines[2] + lines[1]
    a = read_referrer_list(write(tmp_path, LIST, "a.csv")).records
    b = read_referrer_list(write(tmp_path, shuffled, "other_name.csv")).records
    assert set(a["source_key"]) == set(b["source_key"])
    assert (
        a.set_index("source_key")["record_hash"].to_dict()
        == b.set_index("source_key")["record_hash"].to_dict()
    )
    assert a["source_key"].is_unique


def test_id_column_is_source_key(tmp_path):
    text = "Referrer ID,Doctor\nR-7,Ann Lee\nR-8,Bo Diddley\n"
    recs = read_referrer_list(write(tmp_path, text)).records
    assert recs["source_key"].tolist() == ["R-7", "R-8"]


def test_mapping_overrides_detection(tmp_path):
    text = "Who,Where\nAnn Lee,43215\n"
    recs = read_referrer_list(
        write(tmp_path, text), mapping={"full_name": "Who", "postal_code": "Where"}
    ).records
    assert (recs.iloc[0]["first_name"], recs.iloc[0]["postal_code"]) == ("Ann", "43215")


def test_no_name_column_is_schema_error(tmp_path):
    with pytest.raises(SchemaError) as err:
        read_referrer_list(write(tmp_path, "Zip,Phone\n43215,6145550100\n"))
    assert "Zip, Phone" in str(err.value) and "Referring Physician" in str(err.value)


def test_bad_mapping_lists_all_problems(tmp_path):
    with pytest.raises(SchemaError) as err:
        read_referrer_list(write(tmp_path, LIST), mapping={"nonsense": "NPI", "city": "Town"})
    assert {p.field for p in err.value.problems} == {"nonsense", "city"}


def test_semicolon_delimiter_and_cp1252(tmp_path):
    text = "Nom;Name;Zip\nx;José Núñez;43215\n"
    path = write(tmp_path, text, encoding="cp1252")
    detected = read_referrer_list(path)  # ASCII, then a byte that is not UTF-8: Windows-1252
    assert detected.records.iloc[0]["last_name"] == "Núñez"
    assert [w.code for w in detected.warnings] == ["encoding_detected", "columns_ignored"]
    named = read_referrer_list(path, encoding="cp1252")
    assert named.records.iloc[0]["last_name"] == "Núñez"
    assert [w.code for w in named.warnings] == ["columns_ignored"]
    path.write_bytes(
        "Nom;Name;Zip\nÅsa;José Núñez;43215\n".encode() + "y;Núñez;43215\n".encode("cp1252")
    )
    with pytest.raises(EncodingError):  # UTF-8 text, then bytes that are not: refused
        read_referrer_list(path)


def test_xlsx(tmp_path):
    path = tmp_path / "list.xlsx"
    pd.DataFrame({"Physician": ["SMITH, ROBERT", "Ann Lee"], "ZIP": ["43215", "2134"]}).to_excel(
        path, index=False
    )
    recs = read_referrer_list(path).records
    assert recs["last_name"].tolist() == ["SMITH", "Lee"]
    assert recs["postal_code"].tolist() == ["43215", "02134"]
    assert recs["line"].tolist() == [2, 3]
